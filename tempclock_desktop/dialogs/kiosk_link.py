"""A site's kiosk: create, replace or revoke its link (the new link shows once, with its QR
code and a poster for the site's wall, printed or saved as a PDF), and how many minutes
after a shift's start its worker counts as late there.

TempClock keeps only a hash of the link's token, so the link itself lives in this
dialog alone, from the moment it is made until the dialog closes.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QImage, QPainter, QPixmap
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from tempclock.api.services import kiosk, lateness
from tempclock.api.services.locations import Location
from tempclock_desktop import kiosk_paper
from tempclock_desktop.formatting import day, when
from tempclock_desktop.kiosk_listener import KioskListener
from tempclock_desktop.messages import confirm, describe
from tempclock_desktop.operations import Operation
from tempclock_desktop.widgets import Banner, Card, button, label

QR_PREVIEW_PX = 220
THIS_PC_ONLY = ("Only this computer can open the kiosk for now. To let the site's tablet and "
                "workers' phones reach it, offer the kiosk to the local network in Server & "
                "settings first, then make the link.")


def qr_pixmap(text: str, side: int = QR_PREVIEW_PX) -> QPixmap:
    """`text` as a QR code, `side` pixels square (the poster's code, on screen)."""
    image = QImage(side, side, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.white)
    painter = QPainter(image)
    try:
        kiosk_paper.paint_qr(painter, text, QRectF(0, 0, side, side))
    finally:
        painter.end()
    return QPixmap.fromImage(image)


class KioskLinkDialog(QDialog):
    """One site's kiosk: its link (made, replaced or revoked) and its late grace minutes."""

    def __init__(self, parent: QWidget | None, account_id: int, location: Location,
                 listener: KioskListener | None) -> None:
        super().__init__(parent)
        self.account_id = account_id
        self.location = location
        self.listener = listener
        self.link: kiosk.KioskLink | None = None
        self.has_link = False
        self.setWindowTitle(f"Kiosk — {location.name}")
        self.setObjectName("kiosk-link-dialog")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setModal(True)
        self.setMinimumWidth(640)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(22, 20, 22, 18)
        outer.setSpacing(10)
        outer.addWidget(label(f"Kiosk link for {location.name}", "SectionTitle"))
        outer.addWidget(label(
            "Workers clock in at this site by opening its kiosk link, on the site's tablet or "
            "by scanning the poster's QR code with their phones, and typing their PIN. The "
            "link works for this site's clocking and nothing else.", "Muted", wrap=True))
        self.reach_warning = Banner("warning")
        outer.addWidget(self.reach_warning)
        self.status = label("", wrap=True)
        outer.addWidget(self.status)
        self.error = label("", "FormError", wrap=True)
        self.error.hide()
        outer.addWidget(self.error)
        self.reveal = self._reveal()
        outer.addWidget(self.reveal)
        outer.addWidget(self._lateness())
        outer.addLayout(self._buttons())
        self._show_reach()
        self._load_info()

    def _reveal(self) -> Card:
        card = Card()
        card.body.addWidget(label("The new kiosk link", "Muted"))
        line = QHBoxLayout()
        self.url_text = QLineEdit()
        self.url_text.setObjectName("KeyText")
        self.url_text.setReadOnly(True)
        line.addWidget(self.url_text, 1)
        self.copy_button = button("Copy", "copy", on_click=self.copy)
        line.addWidget(self.copy_button)
        card.body.addLayout(line)
        row = QHBoxLayout()
        row.setSpacing(16)
        self.qr = QLabel()
        self.qr.setFixedSize(QR_PREVIEW_PX, QR_PREVIEW_PX)
        self.qr.setAccessibleName("QR code of the kiosk link")
        row.addWidget(self.qr, 0, Qt.AlignmentFlag.AlignTop)
        texts = QVBoxLayout()
        texts.addWidget(label(
            "Shown this once: TempClock keeps only a scrambled form of it. Print the poster "
            "for the site's wall, or save it as a PDF, before you close this window.",
            wrap=True))
        actions = QHBoxLayout()
        self.print_button = button("Print poster…", role="primary", on_click=self.print_poster)
        self.pdf_button = button("Save poster as PDF…", "export", on_click=self.save_poster)
        actions.addWidget(self.print_button)
        actions.addWidget(self.pdf_button)
        actions.addStretch(1)
        texts.addLayout(actions)
        texts.addStretch(1)
        row.addLayout(texts, 1)
        card.body.addLayout(row)
        card.hide()
        return card

    def _lateness(self) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 6, 0, 0)
        column.addWidget(label("When a worker counts as late", "SectionTitle"))
        row = QHBoxLayout()
        row.addWidget(label("Late when not clocked in"))
        self.grace = QSpinBox()
        self.grace.setRange(0, lateness.MAX_GRACE_MINUTES)
        self.grace.setSuffix(" minutes")
        self.grace.setValue(lateness.DEFAULT_GRACE_MINUTES)
        self.grace.setMinimumWidth(130)
        row.addWidget(self.grace)
        row.addWidget(label("after the shift starts"))
        self.grace_button = button("Save", on_click=self.save_grace)
        row.addWidget(self.grace_button)
        row.addStretch(1)
        column.addLayout(row)
        self.grace_saved = label("", "Muted")
        column.addWidget(self.grace_saved)
        return box

    def save_grace(self) -> None:
        """Save the site's grace minutes: the board and notifications follow them."""
        account_id, location_id, minutes = self.account_id, self.location.id, self.grace.value()
        self.grace_saved.setText("")
        Operation(self, lambda: lateness.set_grace_minutes(account_id, location_id, minutes),
                  success=lambda saved: self.grace_saved.setText(
                      f"Saved: late {saved} minutes after the start."),
                  failure=self._refused).run()

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.revoke_button = button("Revoke link…", role="danger", on_click=self.revoke)
        self.revoke_button.setEnabled(False)
        row.addWidget(self.revoke_button)
        row.addStretch(1)
        self.close_button = button("Close", on_click=self.accept)
        self.create_button = button("Create link", role="primary", on_click=self.create)
        row.addWidget(self.close_button)
        row.addWidget(self.create_button)
        return row

    # --- state -------------------------------------------------------------------------

    def _show_reach(self) -> None:
        lan = self.listener is not None and self.listener.enabled
        self.reach_warning.setVisible(not lan)
        if not lan:
            self.reach_warning.show_message(THIS_PC_ONLY)

    def _load_info(self) -> None:
        account_id, location_id = self.account_id, self.location.id
        Operation(self, lambda: (kiosk.link_info(account_id, location_id),
                                 lateness.grace_minutes(account_id, location_id)),
                  success=self._show_loaded, failure=self._refused).run()

    def _show_loaded(self, loaded: tuple[kiosk.KioskLinkInfo | None, int]) -> None:
        info, grace = loaded
        self.grace.setValue(grace)
        self._show_info(info)

    def _show_info(self, info: kiosk.KioskLinkInfo | None) -> None:
        self.has_link = info is not None
        if info is None:
            self.status.setText("This site has no kiosk link yet.")
        else:
            self.status.setText(
                f"This site has a kiosk link, made {when(info.created_at)}. It cannot be "
                "shown again; to print a new poster, replace the link: the old one stops "
                "working at once.")
        self.revoke_button.setEnabled(info is not None)
        self.create_button.setText("Replace link…" if info is not None else "Create link")

    def base_url(self) -> str:
        return self.listener.base_url() if self.listener is not None else ""

    # --- actions -----------------------------------------------------------------------

    def create(self) -> None:
        """Make the site's link (asking first when it replaces one)."""
        if self.has_link:
            confirm(self, "Replace kiosk link",
                    f"Make a new kiosk link for {self.location.name}?\n\nThe current link and "
                    "its poster stop working at once: the site's tablet and workers need the "
                    "new poster.", "Replace link", self._create, danger=True)
        else:
            self._create()

    def _create(self) -> None:
        account_id, location_id, base = self.account_id, self.location.id, self.base_url()
        self.create_button.setEnabled(False)
        self.error.hide()
        Operation(self, lambda: kiosk.create_link(account_id, location_id, base),
                  success=self._created, failure=self._refused).run()

    def _created(self, link: kiosk.KioskLink) -> None:
        self.link = link
        self.url_text.setText(link.url)
        self.url_text.ensurePolished()  # the stylesheet's monospace font, to measure with
        self.url_text.setMinimumWidth(  # the whole link shows, its last character too
            self.url_text.fontMetrics().horizontalAdvance(link.url) + 40)
        self.url_text.setCursorPosition(0)
        self.qr.setPixmap(qr_pixmap(link.url))
        self.reveal.show()
        self.create_button.setEnabled(True)
        self.resize(self.sizeHint())  # room for the link, its QR code and the poster buttons
        self._show_info(kiosk.KioskLinkInfo(location_id=link.location_id,
                                            created_at=link.created_at))

    def revoke(self) -> None:
        """Stop the site's link working (asking first)."""
        confirm(self, "Revoke kiosk link",
                f"Stop the kiosk link of {self.location.name} working?\n\nThe site's tablet "
                "and the poster's QR code stop working at once, until you make a new link.",
                "Revoke link", self._revoke, danger=True)

    def _revoke(self) -> None:
        account_id, location_id = self.account_id, self.location.id
        Operation(self, lambda: kiosk.revoke_link(account_id, location_id),
                  success=lambda _none: self._revoked(), failure=self._refused).run()

    def _revoked(self) -> None:
        self.link = None
        self.reveal.hide()
        self._show_info(None)

    def _refused(self, error: BaseException) -> None:
        self.create_button.setEnabled(True)
        self.error.setText(describe(error))
        self.error.show()

    def copy(self) -> None:
        """Put the link on the clipboard."""
        QGuiApplication.clipboard().setText(self.url_text.text())
        self.copy_button.setText("Copied")
        QTimer.singleShot(2000, self.copy_button, lambda: self.copy_button.setText("Copy"))

    # --- the poster --------------------------------------------------------------------

    @property
    def poster(self) -> kiosk_paper.Poster | None:
        """The poster of the link just made (None before one is made)."""
        if self.link is None:
            return None
        return kiosk_paper.Poster(site_name=self.location.name, url=self.link.url,
                                  made_on=day(self.link.created_at.astimezone().date()))

    def _sheet(self) -> kiosk_paper.Sheet | None:
        poster = self.poster
        return None if poster is None else kiosk_paper.poster_sheet(poster)

    def print_poster(self) -> None:
        """The system's print dialog for the poster."""
        sheet = self._sheet()
        if sheet is not None:
            kiosk_paper.print_sheet(self, sheet, f"Kiosk poster — {self.location.name}")

    def print_to(self, printer: QPrinter) -> None:
        """Print the poster on `printer` as it is set up."""
        sheet = self._sheet()
        if sheet is not None:
            kiosk_paper.paint_on(printer, sheet)

    def save_poster(self, path: Path | None = None) -> Path | None:
        """Save the poster as a PDF (asking where, unless `path` is given)."""
        sheet = self._sheet()
        if sheet is None:
            return None
        try:
            return kiosk_paper.save_pdf_as(self, sheet, f"Kiosk poster — {self.location.name}", path)
        except OSError as error:
            self._refused(error)
            return None
