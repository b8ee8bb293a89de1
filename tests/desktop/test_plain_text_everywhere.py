"""Markup in the other things an admin or an integrator names (a webhook's description and
URL, departments, cost codes, a time entry's notes) is shown as written on every screen,
in every selected record's detail, never rendered."""

from __future__ import annotations

from desktop_helpers import settle
from PySide6.QtWidgets import QAbstractItemView, QTextEdit
from test_plain_text import MARKUP, markup_shown_anywhere

from tempclock.api.services import clocking, cost_codes, departments, webhooks
from tests.conftest import allow_internal_targets


def test_markup_in_webhooks_departments_cost_codes_and_notes_is_never_rendered(
        qtbot, start_desktop, account, make_location, make_worker):
    allow_internal_targets(account.id)
    webhooks.create_webhook(account.id, webhooks.WebhookCreate(
        url="http://127.0.0.1:9/<h1>hook</h1>", description=MARKUP, events=["clock_in"]))
    department = departments.create_department(account.id,
                                               departments.DepartmentCreate(name=MARKUP))
    cost_codes.create_cost_code(account.id, cost_codes.CostCodeCreate(
        code="CC-1", name=MARKUP, department_id=department.id))
    site = make_location(account.id, "Leeds DC")
    worker = make_worker(account.id, MARKUP, "Lee", location_id=site.id)
    clocking.clock_in(account.id, worker.id, source="kiosk")
    desktop = start_desktop()
    window = desktop.window
    problems: dict[str, list[str]] = {}
    for name in list(window._panel_types):
        panel = window.show_panel(name)
        settle(qtbot)
        for view in panel.findChildren(QAbstractItemView):  # each table's first record
            if view.model() is not None and view.model().rowCount() and view.isVisible():
                view.setCurrentIndex(view.model().index(0, 0))
        settle(qtbot)
        qtbot.wait(50)
        found = markup_shown_anywhere(window)
        found += [f"detail {type(edit.parent()).__name__}: {edit.toPlainText()!r}"
                  for edit in window.findChildren(QTextEdit)
                  if "<h1" in edit.toHtml() and "&lt;h1" not in edit.toHtml()]
        if found:
            problems[name] = found
    assert problems == {}
