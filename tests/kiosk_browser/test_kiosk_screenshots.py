"""The screenshot set includes the kiosk page: tablet (1280×800, English) and phone
(360×740 CSS pixels, Polish), ready and after a clock-in, and a punch saved offline."""

from __future__ import annotations

from PySide6.QtGui import QImage

from tempclock_desktop.kiosk_screenshots import take


def test_the_kiosk_page_is_photographed_on_a_tablet_and_a_phone_in_two_languages(tmp_path):
    written = take(tmp_path / "shots")

    assert [path.name for path in written] == [
        "kiosk-tablet-en-ready.png", "kiosk-tablet-en-clocked-in.png",
        "kiosk-phone-pl-ready.png", "kiosk-phone-pl-clocked-in.png",
        "kiosk-tablet-en-saved-offline.png"]
    for path in written:
        image = QImage(str(path))
        assert path.stat().st_size > 5_000, path
        size = (image.width(), image.height())
        assert size == ((720, 1480) if "phone" in path.name else (1280, 800)), path
