"""The look: the stylesheet and the icons shipped in `resources/`."""

from __future__ import annotations

import functools

from PySide6.QtCore import QByteArray, QSize, Qt
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

from tempclock import resources

INK = "#334155"  # the stroke colour the icon files are drawn in
ACCENT = "#0f766e"
DANGER = "#b91c1c"
SIDEBAR_INK = "#cbd5e1"


def apply(app: QApplication) -> None:
    """Give the application its stylesheet, font and window icon."""
    app.setStyle("Fusion")
    sheet = resources.path("style.qss").read_text(encoding="utf-8")
    app.setStyleSheet(sheet.replace("@ICONS@", resources.path("icons").as_posix()))
    app.setWindowIcon(icon("logo", None))


@functools.lru_cache(maxsize=256)
def _pixmap(name: str, colour: str | None, size: int) -> QPixmap:
    svg = resources.path("icons", f"{name}.svg").read_text(encoding="utf-8")
    if colour is not None:
        svg = svg.replace(INK, colour)
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    ratio = 2  # crisp on high-DPI screens
    pixmap = QPixmap(size * ratio, size * ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    renderer.render(painter)
    painter.end()
    pixmap.setDevicePixelRatio(ratio)
    return pixmap


def icon(name: str, colour: str | None = INK, size: int = 24) -> QIcon:
    """An icon from `resources/icons/`, recoloured (None keeps the file's own colours)."""
    result = QIcon(_pixmap(name, colour, size))
    if colour is not None and colour != "#ffffff":
        result.addPixmap(_pixmap(name, "#94a3b8", size), QIcon.Mode.Disabled)
    return result


def pixmap(name: str, colour: str | None = INK, size: int = 24) -> QPixmap:
    """The icon as a pixmap, for labels."""
    return _pixmap(name, colour, size)


ICON_SIZE = QSize(16, 16)
