"""Paper for the kiosk: a worker's PIN slip and a site's poster with the kiosk link's QR code.

Each is painted by one function onto any paint device: the admin's printer (through
`QPrintDialog`), a PDF file, or an image on screen. Drawings are laid out in tenths of a
millimetre on their own paper size (A6 slip, A4 poster) and scaled onto the page, so
they look the same on every printer. The QR code is drawn as vector squares, sharp at
any size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import segno
from PySide6.QtCore import QMarginsF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QPagedPaintDevice,
    QPageLayout,
    QPageSize,
    QPainter,
    QPainterPath,
    QPdfWriter,
    QPen,
)
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QFileDialog, QWidget

from tempclock_desktop.messages import show_error

INK = QColor("#0f172a")
MUTED = QColor("#475569")
ACCENT = QColor("#1d4ed8")
QUIET_ZONE = 4  # modules of white around a QR code, as the standard asks


@dataclass(frozen=True)
class Sheet:
    """A drawing of a fixed paper size, in tenths of a millimetre."""

    page_size: QPageSize.PageSizeId
    paint: Callable[[QPainter, QRectF], None]  # draws on the sheet's area (0, 0, w, h)

    @property
    def area(self) -> QRectF:
        size = QPageSize(self.page_size).size(QPageSize.Unit.Millimeter)
        return QRectF(0, 0, size.width() * 10, size.height() * 10)


@dataclass(frozen=True)
class PinSlip:
    """What a worker's PIN slip says."""

    worker_name: str
    pin: str
    site_name: str | None
    instructions: tuple[str, ...]


@dataclass(frozen=True)
class Poster:
    """What a site's kiosk poster says."""

    site_name: str
    url: str
    made_on: str  # the link's date, so an old poster can be told apart


def kiosk_instructions(site_name: str | None, geofence: str = "off") -> tuple[str, ...]:
    """The steps a worker follows at a site's kiosk, in plain words; `geofence` is what the
    kiosk does with a phone's position there: "off", "flag" or "refuse"."""
    where = f"at {site_name}" if site_name else "at your site"
    steps = [
        f"Use the kiosk tablet {where}, or scan the QR code on the site's poster with "
        "your phone's camera.",
        "Type your PIN, then tap Clock in when you start and Clock out when you finish.",
        "Taking a break? Tap Start break, and End break when you are back.",
    ]
    if geofence == "refuse":
        steps.append("On your phone, allow location when asked: you can clock in only at "
                     "the site.")
    elif geofence == "flag":
        steps.append("On your phone, allow location when asked: the office sees where you "
                     "clocked in.")
    steps.append("Keep your PIN to yourself. Lost it? Ask the office for a new one.")
    return tuple(steps)


# --- drawing --------------------------------------------------------------------------


def _font(size: float, *, bold: bool = False, mono: bool = False) -> QFont:
    font = QFont("DejaVu Sans Mono" if mono else "DejaVu Sans")
    if mono:
        font.setStyleHint(QFont.StyleHint.Monospace)
    font.setPixelSize(max(1, round(size)))  # logical units: tenths of a millimetre
    font.setBold(bold)
    return font


def _text(painter: QPainter, box: QRectF, text: str, font: QFont, colour: QColor = INK,
          align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft) -> float:
    """Draw wrapped `text` at the top of `box`; returns the height it took."""
    painter.setFont(font)
    painter.setPen(colour)
    flags = int(align | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap)
    used = painter.drawText(box, flags, text)
    return used.height()


def paint_qr(painter: QPainter, text: str, box: QRectF) -> None:
    """`text` as a QR code filling the square `box` (quiet zone included), dark on white."""
    code = segno.make(text, error="m", micro=False)
    modules = len(code.matrix) + 2 * QUIET_ZONE
    side = min(box.width(), box.height())
    unit = side / modules
    left, top = box.left() + QUIET_ZONE * unit, box.top() + QUIET_ZONE * unit
    painter.fillRect(QRectF(box.left(), box.top(), side, side), Qt.GlobalColor.white)
    path = QPainterPath()
    path.setFillRule(Qt.FillRule.WindingFill)
    for y, row in enumerate(code.matrix):
        x = 0
        while x < len(row):  # one rectangle per run of dark modules
            if not row[x]:
                x += 1
                continue
            start = x
            while x < len(row) and row[x]:
                x += 1
            path.addRect(QRectF(left + start * unit, top + y * unit,
                                (x - start) * unit, unit * 1.001))
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    painter.fillPath(path, Qt.GlobalColor.black)
    painter.restore()


def paint_pin_slip(painter: QPainter, area: QRectF, slip: PinSlip) -> None:
    """The slip a worker keeps: their name, their PIN and how to use the kiosk."""
    margin = 80.0
    pen = QPen(MUTED, 3, Qt.PenStyle.DashLine)
    painter.setPen(pen)
    painter.drawRect(area.adjusted(15, 15, -15, -15))  # where to cut
    inner = area.adjusted(margin, margin, -margin, -margin)
    y = inner.top()
    y += _text(painter, QRectF(inner.left(), y, inner.width(), 80),
               "TempClock · your kiosk PIN", _font(38, bold=True), ACCENT) + 30
    y += _text(painter, QRectF(inner.left(), y, inner.width(), 200), slip.worker_name,
               _font(62, bold=True)) + 10
    if slip.site_name:
        y += _text(painter, QRectF(inner.left(), y, inner.width(), 140),
                   f"Site: {slip.site_name}", _font(36), MUTED) + 10
    pin_box = QRectF(inner.left(), y + 20, inner.width(), 190)
    painter.setPen(QPen(INK, 5))
    painter.setBrush(QColor("#f1f5f9"))
    painter.drawRoundedRect(pin_box, 25, 25)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    spaced = " ".join(slip.pin)
    size = min(110.0, pin_box.width() / (len(spaced) * 0.62))  # 8 digits fit on one line
    _text(painter, pin_box.adjusted(0, (190 - size) / 2 - 10, 0, 0), spaced,
          _font(size, bold=True, mono=True), INK, Qt.AlignmentFlag.AlignHCenter)
    y = pin_box.bottom() + 50
    for n, step in enumerate(slip.instructions, start=1):
        y += _text(painter, QRectF(inner.left(), y, inner.width(), 300), f"{n}.  {step}",
                   _font(32)) + 18


def paint_poster(painter: QPainter, area: QRectF, poster: Poster) -> None:
    """The poster for a site's wall: the site, the QR code of its kiosk link, the steps."""
    margin = 150.0
    inner = area.adjusted(margin, margin, -margin, -margin)
    y = inner.top()
    y += _text(painter, QRectF(inner.left(), y, inner.width(), 300), poster.site_name,
               _font(110, bold=True), INK, Qt.AlignmentFlag.AlignHCenter) + 20
    y += _text(painter, QRectF(inner.left(), y, inner.width(), 200),
               "Clock in and out here", _font(70, bold=True), ACCENT,
               Qt.AlignmentFlag.AlignHCenter) + 40
    side = min(inner.width(), 1300.0)
    paint_qr(painter, poster.url, QRectF(inner.center().x() - side / 2, y, side, side))
    y += side + 20
    y += _text(painter, QRectF(inner.left(), y, inner.width(), 200), poster.url,
               _font(30, mono=True), MUTED, Qt.AlignmentFlag.AlignHCenter) + 60
    steps = ("1.  Scan the code with your phone's camera (or use the site's tablet).",
             "2.  Type your PIN.",
             "3.  Tap Clock in, Clock out, Start break or End break.")
    for step in steps:
        y += _text(painter, QRectF(inner.left() + 60, y, inner.width() - 120, 300), step,
                   _font(58)) + 30
    _text(painter, QRectF(inner.left(), inner.bottom() - 120, inner.width(), 120),
          f"Kiosk link made {poster.made_on}. If it stops working, ask the office for a "
          "new poster.", _font(26), MUTED, Qt.AlignmentFlag.AlignHCenter)


def slip_sheet(slip: PinSlip) -> Sheet:
    return Sheet(QPageSize.PageSizeId.A6, lambda painter, area: paint_pin_slip(painter, area,
                                                                             slip))


def poster_sheet(poster: Poster) -> Sheet:
    return Sheet(QPageSize.PageSizeId.A4, lambda painter, area: paint_poster(painter, area,
                                                                           poster))


# --- output ------------------------------------------------------------------------------


def paint_on(device: QPagedPaintDevice | QImage, sheet: Sheet) -> None:
    """Draw `sheet` on a printer, a PDF writer or an image, scaled to fit, proportions kept."""
    if isinstance(device, QPagedPaintDevice):
        page = device.pageLayout().paintRectPixels(device.resolution())
        target = QRectF(0, 0, page.width(), page.height())
    else:
        target = QRectF(0, 0, device.width(), device.height())
    area = sheet.area
    scale = min(target.width() / area.width(), target.height() / area.height())
    painter = QPainter()
    if not painter.begin(device):
        raise OSError("the page could not be drawn: the printer or file refused it")
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        painter.scale(scale, scale)
        sheet.paint(painter, area)
    finally:
        painter.end()


def save_pdf(path: Path, sheet: Sheet, title: str) -> Path:
    """Write `sheet` as a one-page PDF of its own paper size (OSError when it cannot)."""
    path.open("wb").close()  # the system's own reason when the file cannot be written
    writer = QPdfWriter(str(path))
    writer.setTitle(title)
    writer.setCreator("TempClock")
    writer.setResolution(300)
    writer.setPageLayout(QPageLayout(QPageSize(sheet.page_size), QPageLayout.Orientation.Portrait,
                                     QMarginsF(0, 0, 0, 0)))
    paint_on(writer, sheet)
    return path


def render_image(sheet: Sheet, width_px: int) -> QImage:
    """`sheet` as an image `width_px` wide (a preview on screen)."""
    area = sheet.area
    image = QImage(width_px, round(width_px * area.height() / area.width()),
                   QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.white)
    paint_on(image, sheet)
    return image


def printer_for(sheet: Sheet) -> QPrinter:
    """A printer set up for `sheet`'s paper size, for the print dialog to adjust."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setPageSize(QPageSize(sheet.page_size))
    return printer


def print_sheet(parent: QWidget, sheet: Sheet, title: str) -> QPrintDialog:
    """Open the system's print dialog; printing starts when the admin confirms."""
    printer = printer_for(sheet)
    printer.setDocName(title)
    dialog = QPrintDialog(printer, parent)
    dialog.setWindowTitle(title)

    def confirmed() -> None:
        try:
            paint_on(printer, sheet)
        except OSError as error:  # the printer went away, or a file printer cannot write
            show_error(parent, error, "Not printed")

    dialog.accepted.connect(confirmed)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.show()  # QPrintDialog.open() wants a receiver and a slot: show it window-modal
    return dialog


def ask_pdf_path(parent: QWidget, suggested: str) -> Path | None:
    """Where the admin wants the PDF saved (None when they cancel)."""
    name, _filter = QFileDialog.getSaveFileName(parent, "Save as PDF",
                                                str(Path.home() / suggested), "PDF (*.pdf)")
    if not name:
        return None
    path = Path(name)
    return path if path.suffix.lower() == ".pdf" else path.with_suffix(".pdf")


def save_pdf_as(parent: QWidget, sheet: Sheet, title: str, path: Path | None = None,
                ) -> Path | None:
    """Save `sheet` as a PDF named after `title`, asking where unless `path` is given (None
    when the admin cancels; OSError when it cannot be written)."""
    if path is None:
        path = ask_pdf_path(parent, f"{safe_file_name(title)}.pdf")
    return None if path is None else save_pdf(path, sheet, title)


def safe_file_name(text: str) -> str:
    """`text` as part of a file name on any system."""
    kept = "".join(c if c.isalnum() or c in " -_" else "-" for c in text).strip(" -")
    return (kept or "tempclock")[:60]

