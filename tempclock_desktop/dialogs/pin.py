"""A worker's kiosk PIN: set (generated or typed) or reset, shown once, with a printable slip.

TempClock keeps only a keyed hash of a PIN, so the PIN itself lives in this dialog
alone, from the moment it is set until the dialog closes: print the slip (or save it
as a PDF) before closing, or set a new PIN.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QRegularExpression, Qt
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QHBoxLayout,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from tempclock.api.services import kiosk, locations, pins
from tempclock.api.services.workers import Worker
from tempclock_desktop import kiosk_paper
from tempclock_desktop.messages import describe
from tempclock_desktop.operations import Operation
from tempclock_desktop.widgets import Card, button, label

PIN_PATTERN = QRegularExpression("[0-9]{0,8}")  # \d would let other scripts' digits in


@dataclass(frozen=True)
class NewPin:
    """A PIN just set, and the worker's site for the slip's instructions."""

    pin: str
    site: locations.Location | None


def set_pin_for_slip(account_id: int, worker: Worker, typed: str | None) -> NewPin:
    """Set (or generate) the worker's PIN and read their site (runs on the pool)."""
    pin = pins.set_pin(account_id, worker.id, typed)
    site = (None if worker.location_id is None
            else locations.get_location(account_id, worker.location_id))
    return NewPin(pin, site)


class PinDialog(QDialog):
    """Set, reset or remove one worker's kiosk PIN; the new PIN shows once, with its slip."""

    def __init__(self, parent: QWidget | None, account_id: int, worker: Worker) -> None:
        super().__init__(parent)
        self.account_id = account_id
        self.worker = worker
        self.new_pin: NewPin | None = None
        self.setWindowTitle(f"Kiosk PIN — {worker.name}")
        self.setObjectName("kiosk-pin-dialog")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setModal(True)
        self.setMinimumWidth(520)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(22, 20, 22, 18)
        outer.setSpacing(10)
        outer.addWidget(label(f"Kiosk PIN for {worker.name}", "SectionTitle"))
        self.status = label("", "Muted", wrap=True)
        outer.addWidget(self.status)
        outer.addWidget(self._choice())
        self.error = label("", "FormError", wrap=True)
        self.error.hide()
        outer.addWidget(self.error)
        self.reveal = self._reveal()
        outer.addWidget(self.reveal)
        outer.addLayout(self._buttons())
        self._load_status()

    # --- building -----------------------------------------------------------------

    def _choice(self) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        self.generate = QRadioButton("Make up a PIN for me")
        self.typed = QRadioButton("Use this PIN:")
        group = QButtonGroup(self)
        group.addButton(self.generate)
        group.addButton(self.typed)
        self.generate.setChecked(True)
        self.pin_field = QLineEdit()
        self.pin_field.setObjectName("KeyText")
        self.pin_field.setPlaceholderText("4 to 8 digits")
        self.pin_field.setValidator(QRegularExpressionValidator(PIN_PATTERN, self.pin_field))
        self.pin_field.setMaximumWidth(160)
        self.pin_field.textEdited.connect(lambda _text: self.typed.setChecked(True))
        column.addWidget(self.generate)
        row = QHBoxLayout()
        row.addWidget(self.typed)
        row.addWidget(self.pin_field)
        row.addStretch(1)
        column.addLayout(row)
        return box

    def _reveal(self) -> Card:
        card = Card()
        card.body.addWidget(label("The new PIN", "Muted"))
        self.pin_text = label("", "Metric")
        self.pin_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        card.body.addWidget(self.pin_text)
        card.body.addWidget(label(
            "Shown this once: TempClock keeps only a scrambled form of it. Print the slip for "
            "the worker, or save it as a PDF, before you close this window.", wrap=True))
        row = QHBoxLayout()
        self.print_button = button("Print PIN slip…", role="primary",
                                   on_click=self.print_slip)
        self.pdf_button = button("Save slip as PDF…", "export", on_click=self.save_slip)
        row.addWidget(self.print_button)
        row.addWidget(self.pdf_button)
        row.addStretch(1)
        card.body.addLayout(row)
        card.hide()
        return card

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.remove_button = button("Remove PIN…", role="danger", on_click=self.remove_pin)
        self.remove_button.setEnabled(False)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        self.set_button = button("Set PIN", role="primary", on_click=self.set_pin)
        self.close_button = button("Close", on_click=self.accept)
        row.addWidget(self.close_button)
        row.addWidget(self.set_button)
        return row

    # --- the PIN ---------------------------------------------------------------------

    def _load_status(self) -> None:
        account_id, worker_id = self.account_id, self.worker.id
        Operation(self, lambda: pins.has_pin(account_id, worker_id),
                  success=self._show_status, failure=self._refused).run()

    def _show_status(self, has_pin: bool) -> None:
        first = self.worker.first_name
        self.status.setText(
            f"{first} has a PIN. Setting a new one replaces it: the old PIN stops working."
            if has_pin else
            f"{first} has no PIN yet, so cannot use the kiosk. Set one and give {first} "
            "the printed slip.")
        self.remove_button.setEnabled(has_pin)
        self.set_button.setText("Set a new PIN" if has_pin else "Set PIN")

    def set_pin(self) -> None:
        """Set the typed PIN, or a generated one; the PIN and its slip show once."""
        typed = self.pin_field.text().strip() if self.typed.isChecked() else None
        if typed is not None and not 4 <= len(typed) <= 8:
            self._refused_text("A PIN is 4 to 8 digits.")
            return
        self.error.hide()
        self.set_button.setEnabled(False)
        account_id, worker = self.account_id, self.worker
        Operation(self, lambda: set_pin_for_slip(account_id, worker, typed),
                  success=self._pin_set, failure=self._refused).run()

    def _pin_set(self, new_pin: NewPin) -> None:
        self.new_pin = new_pin
        self.pin_field.clear()
        self.pin_text.setText(new_pin.pin)
        self.reveal.show()
        self.set_button.setEnabled(True)
        self._show_status(True)
        self.resize(self.sizeHint())  # room for the PIN and its slip buttons

    def remove_pin(self) -> None:
        """Remove the worker's PIN: the kiosk no longer knows them."""
        account_id, worker_id = self.account_id, self.worker.id
        Operation(self, lambda: pins.clear_pin(account_id, worker_id),
                  success=lambda _none: self._removed(), failure=self._refused).run()

    def _removed(self) -> None:
        self.new_pin = None
        self.reveal.hide()
        self._show_status(False)

    def _refused(self, error: BaseException) -> None:
        self._refused_text(describe(error))

    def _refused_text(self, text: str) -> None:
        self.set_button.setEnabled(True)
        self.error.setText(text)
        self.error.show()

    # --- the slip --------------------------------------------------------------------

    @property
    def slip(self) -> kiosk_paper.PinSlip | None:
        """The slip for the PIN just set (None before one is set)."""
        if self.new_pin is None:
            return None
        site = self.new_pin.site
        return kiosk_paper.PinSlip(
            worker_name=self.worker.name, pin=self.new_pin.pin,
            site_name=site.name if site else None,
            instructions=kiosk_paper.kiosk_instructions(
                site.name if site else None,
                kiosk.GEOFENCE_OF_MODE.get(site.settings.geofence_mode, "off") if site else "off"))

    def _sheet(self) -> kiosk_paper.Sheet | None:
        slip = self.slip
        return None if slip is None else kiosk_paper.slip_sheet(slip)

    def print_slip(self) -> None:
        """The system's print dialog for the slip."""
        sheet = self._sheet()
        if sheet is not None:
            kiosk_paper.print_sheet(self, sheet, f"PIN slip — {self.worker.name}")

    def print_to(self, printer: QPrinter) -> None:
        """Print the slip on `printer` as it is set up."""
        sheet = self._sheet()
        if sheet is not None:
            kiosk_paper.paint_on(printer, sheet)

    def save_slip(self, path: Path | None = None) -> Path | None:
        """Save the slip as a PDF (asking where, unless `path` is given)."""
        sheet = self._sheet()
        if sheet is None:
            return None
        try:
            return kiosk_paper.save_pdf_as(self, sheet, f"PIN slip — {self.worker.name}", path)
        except OSError as error:
            self._refused(error)
            return None
