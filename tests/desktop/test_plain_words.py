"""The desktop speaks an office admin's language: no panel or dialog shows status codes,
"Bearer", scope or event ids or process numbers in its labels, buttons, ticks or table
headers. Such detail stays one click away: in tooltips, the request details, small print."""

from __future__ import annotations

import html
import re

from desktop_helpers import column_texts, settle
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QGroupBox,
    QLabel,
    QTableView,
    QWidget,
)

from tempclock.api.services import demo, keys, timesheets, webhooks
from tempclock_desktop.choices import load_choices
from tempclock_desktop.dialogs.catalogue import CostCodeDialog, DepartmentDialog
from tempclock_desktop.dialogs.clock import ClockInDialog, EntryAddDialog, EntryEditDialog
from tempclock_desktop.dialogs.keys import IssueKeyDialog, KeyRevealDialog
from tempclock_desktop.dialogs.location import LocationDialog
from tempclock_desktop.dialogs.shift import ShiftDialog
from tempclock_desktop.dialogs.webhooks import WebhookDialog, WebhookSecretDialog
from tempclock_desktop.dialogs.worker import WorkerDialog
from tempclock_desktop.main_window import SECTIONS

DEVELOPER_WORDS = [
    # A bare HTTP status code ("gets 403.", "Only 401/403"), not a count ("404 paid hours").
    re.compile(r"(?<![\d.:,-])\b[1-5]\d\d\b(?![\d.,:-]\d)(?!\s*[a-z×%])"),
    re.compile(r"\bBearer\b"),
    re.compile(r"\b[a-z_]+:(read|write)\b"),  # a scope id
    re.compile(r"\bclock\.[a-z_]+\b|\b(clock_in|clock_out|worker_created|timesheet_updated)\b"),
    re.compile(r"\bprocess \d+\b"),
    re.compile(r"Manage portal"),
    re.compile(r"Package tempclock"),
]
SMALL_PRINT = {"IdHint"}  # the id under a friendly name, on purpose


def _plain(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


def visible_words(root: QWidget) -> list[tuple[str, str]]:
    """(where, text) of every label, button and header a person sees in `root`."""
    found: list[tuple[str, str]] = []
    for widget in root.findChildren(QWidget):
        if not widget.isVisibleTo(root):
            continue
        if isinstance(widget, QLabel) and widget.objectName() not in SMALL_PRINT:
            found.append((f"label {widget.objectName()}", _plain(widget.text())))
        elif isinstance(widget, QAbstractButton):
            found.append(("button", widget.text()))
        elif isinstance(widget, QGroupBox):
            found.append(("group", widget.title()))
        elif isinstance(widget, QTableView) and widget.model() is not None:
            model = widget.model()
            found += [("header", str(model.headerData(n, Qt.Orientation.Horizontal)))
                      for n in range(model.columnCount())]
    return found


def developer_words(root: QWidget) -> list[tuple[str, str]]:
    return [(where, text) for where, text in visible_words(root)
            if any(pattern.search(text) for pattern in DEVELOPER_WORDS)]


def test_no_panel_shows_developer_words(qtbot, start_desktop, account):
    demo.load_demo(account.id)
    keys.issue_key(account.id, "Payroll export", scopes=["workers:read"])
    desktop = start_desktop(serve=True)
    window = desktop.window
    offending = developer_words(window)
    for _caption, entries in SECTIONS:
        for key, _panel in entries:
            panel = window.show_panel(key)
            settle(qtbot)
            assert len(visible_words(panel)) > 3, key  # the walk sees what a person sees
            offending += [(key, where, text) for where, text in developer_words(panel)]
    keys_panel = window.panel("api_keys")
    assert "Read workers" in column_texts(keys_panel.model, 2)  # not "workers:read"
    offending += [(type(dialog).__name__, where, text)
                  for dialog in every_dialog(window, account.id)
                  for where, text in developer_words(dialog)]
    assert offending == [], "\n".join(map(str, offending))


def test_the_getting_started_guide_and_every_empty_panel_speak_plainly(qtbot, start_desktop):
    desktop = start_desktop(serve=True)
    window = desktop.window
    offending = []
    for _caption, entries in SECTIONS:
        for key, _panel in entries:
            panel = window.show_panel(key)
            settle(qtbot)
            offending += [(key, where, text) for where, text in developer_words(panel)]
    guide = window.show_guide()
    for step in range(guide.pages.count()):
        guide.go_to(step)
        settle(qtbot)
        assert len(visible_words(guide)) > 3, step
        offending += [(f"guide step {step + 1}", where, text)
                      for where, text in developer_words(guide)]
    assert offending == [], "\n".join(map(str, offending))


def every_dialog(window: QWidget, account_id: int) -> list[QWidget]:
    """Each add/edit dialog and one-time reveal, filled from the demo agency, shown."""
    choices = load_choices(account_id, want_workers=True)
    entry = timesheets.list_entries(account_id, timesheets.TimeEntryFilter(limit=1)).data[0]
    issued = keys.issue_key(account_id, "Bullhorn ATS", scopes=["workers:read", "clock:write"])
    created = webhooks.create_webhook(account_id, webhooks.WebhookCreate(
        url="https://crm.example.com/hook", events=["clock_in", "clock.geofence_breach"]))
    nothing = lambda _payload: None  # noqa: E731 - the dialogs are only looked at
    dialogs = [
        IssueKeyDialog(window, nothing), KeyRevealDialog(window, issued),
        WebhookDialog(window, None, nothing), WebhookSecretDialog(window, created),
        WorkerDialog(window, choices, None, nothing), LocationDialog(window, None, nothing),
        ShiftDialog(window, choices, nothing), DepartmentDialog(window, None, nothing),
        CostCodeDialog(window, choices.departments, None, nothing),
        ClockInDialog(window, choices, nothing), EntryAddDialog(window, choices, nothing),
        EntryEditDialog(window, entry, choices, nothing),
    ]
    for dialog in dialogs:
        dialog.show()
    return dialogs


def test_the_key_and_webhook_pickers_show_names_with_the_id_in_small_print(qtbot, start_desktop):
    desktop = start_desktop()
    window = desktop.window
    for dialog in (IssueKeyDialog(window, lambda _r: None),
                   WebhookDialog(window, None, lambda _r: None)):
        dialog.show()
        assert developer_words(dialog) == []
        hints = [w.text() for w in dialog.findChildren(QLabel) if w.objectName() == "IdHint"]
        assert hints  # the ids are there, in small print
        dialog.close()
    keys_dialog = IssueKeyDialog(window, lambda _r: None)
    assert keys_dialog.scope_boxes["workers:read"].text() == "Read workers"
    assert keys_dialog.scope_boxes["clock:write"].text() == "Clock in/out"
    assert "workers:read" in keys_dialog.scope_boxes["workers:read"].toolTip()
    hooks = WebhookDialog(window, None, lambda _r: None)
    assert "ping" not in hooks.event_boxes  # the Test button sends one
    assert hooks.event_boxes["clock.geofence_breach"].text() == "Alert: clocked in off site"
    QApplication.processEvents()
