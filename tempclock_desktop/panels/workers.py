"""Workers: the agency's temps, searchable by name or employee reference."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tempclock.api.services import workers
from tempclock_desktop import session as kinds
from tempclock_desktop.choices import Choices, load_choices, page_of
from tempclock_desktop.dialogs.worker import LANGUAGE_NAMES, WorkerDialog
from tempclock_desktop.formatting import day
from tempclock_desktop.models.records import Column
from tempclock_desktop.panels.base import RecordPanel, RecordService
from tempclock_desktop.widgets import button


def _assignment(worker: workers.Worker) -> str:
    if worker.assignment is None:
        return ""
    a = worker.assignment
    if a.starts_on is None and a.ends_on is None:
        return "open-ended"
    return f"{day(a.starts_on) if a.starts_on else '…'} – {day(a.ends_on) if a.ends_on else '…'}"


class WorkersPanel(RecordPanel):
    title = "Workers"
    subtitle = "The temps your agency places. Search by name or employee reference."
    icon_name = "workers"
    noun = "worker"
    kind = kinds.WORKERS
    depends_on = (kinds.WORKERS, kinds.LOCATIONS, kinds.DEPARTMENTS)
    empty_title = "No workers yet"
    empty_text = ("Workers are the temps you place: they clock in at your client sites. "
                  "Add them one by one, or import them from your applicant tracking "
                  "system's CSV export.")
    service = RecordService(workers.create_worker, workers.update_worker,
                            workers.deactivate_worker)
    editor_context = staticmethod(load_choices)

    def empty_actions(self):
        add, demo = super().empty_actions()
        return [add, button("Import from ATS…", "connectors",
                            on_click=lambda: self.open_requested.emit("connectors/ats-csv")),
                demo]

    def columns(self):
        return [
            Column("Name", lambda w: w.name,
                   lambda w: (w.last_name.lower(), w.first_name.lower())),
            Column("Employee ref", lambda w: w.employee_ref or "", secondary=True),
            Column("Assigned site", lambda w: w.location_name or ""),
            Column("Department", lambda w: w.department or ""),
            Column("Role", lambda w: w.role or ""),
            Column("Phone", lambda w: w.phone or ""),
            Column("Email", lambda w: w.email or "", stretch=True),
            Column("Language", lambda w: LANGUAGE_NAMES.get(w.preferred_language, ""),
                   secondary=True),
            Column("Assignment", _assignment,
                   lambda w: w.assignment.starts_on.isoformat()
                   if w.assignment and w.assignment.starts_on else "", secondary=True),
            Column("Status", lambda w: "Active" if w.active else "Inactive"),
        ]

    def fetch(self, account_id, after_id, search, include_inactive):
        return page_of(workers.list_workers, account_id, workers.WorkerFilter, after_id,
                       search=search or None, active=None if include_inactive else True)

    def editor(self, record: workers.Worker | None, save: Callable[[Any], Any],
               choices: Choices) -> WorkerDialog:
        return WorkerDialog(self, choices, record, save, self.session.account_id)
