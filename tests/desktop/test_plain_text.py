"""Names are shown as written: a worker called `<h1 style="color:red">Big</h1>` reads as those
characters on every screen, never as a big red heading (Qt guesses that text starting with a
tag is markup, in labels, tooltips and message boxes alike)."""

from __future__ import annotations

import datetime as dt

from desktop_helpers import settle
from PySide6.QtCore import QAbstractListModel, Qt
from PySide6.QtGui import Qt as QtText
from PySide6.QtWidgets import QAbstractItemView, QLabel, QWidget

from tempclock.api.services import accounts, api_logs, clocking, keys, shifts
from tempclock_desktop.messages import show_notice

MARKUP = '<h1 style="color:red">Big</h1>'


def rendered_as_markup(widget: QLabel) -> bool:
    """Whether the label would render our planted markup rather than show it."""
    text = widget.text()
    if MARKUP not in text and "<h1" not in text:
        return False
    if widget.textFormat() == Qt.TextFormat.PlainText:
        return False
    return widget.textFormat() == Qt.TextFormat.RichText or QtText.mightBeRichText(text)


def tooltip_renders_markup(tip: str | None) -> bool:
    return bool(tip) and "<h1" in tip and QtText.mightBeRichText(tip)


def markup_shown_anywhere(window: QWidget) -> list[str]:
    """Every label, tooltip and table tooltip in the window that would render the markup."""
    found = [f"label {w.objectName() or type(w.parent()).__name__}: {w.text()!r}"
             for w in window.findChildren(QLabel) if rendered_as_markup(w)]
    found += [f"tooltip of {type(w).__name__}: {w.toolTip()!r}"
              for w in window.findChildren(QWidget) if tooltip_renders_markup(w.toolTip())]
    for view in window.findChildren(QAbstractItemView):
        model = view.model()
        if model is None:
            continue
        columns = 1 if isinstance(model, QAbstractListModel) else model.columnCount()
        for row in range(min(model.rowCount(), 50)):
            for column in range(columns):
                tip = model.data(model.index(row, column), Qt.ItemDataRole.ToolTipRole)
                if tooltip_renders_markup(tip if isinstance(tip, str) else None):
                    found.append(f"table tooltip: {tip!r}")
    return found


def test_a_worker_named_with_markup_shows_the_literal_name_on_the_on_site_board(
        qtbot, start_desktop, account, make_location, make_worker):
    site = make_location(account.id, "<b>Leeds</b> DC")
    worker = make_worker(account.id, MARKUP, "Nowak", location_id=site.id)
    clocking.clock_in(account.id, worker.id, source="kiosk")
    desktop = start_desktop()
    panel = desktop.window.show_panel("on_site")
    settle(qtbot)
    qtbot.waitUntil(lambda: len(panel.cards) == 1)
    labels = {w.text(): w for w in panel.cards[0].findChildren(QLabel)}
    assert worker.name in labels and site.name in labels
    for shown in (labels[worker.name], labels[site.name]):
        assert shown.textFormat() == Qt.TextFormat.PlainText


def test_no_screen_renders_markup_from_names_notes_paths_or_user_agents(
        qtbot, start_desktop, account, make_location, make_worker):
    accounts.rename_account(account.id, f"{MARKUP} Staffing")
    site = make_location(account.id, f"{MARKUP} site")
    worker = make_worker(account.id, MARKUP, MARKUP, location_id=site.id, role=MARKUP)
    clocking.clock_in(account.id, worker.id, source="kiosk")
    start = dt.datetime.now(dt.UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    shifts.create_shift(account.id, shifts.ShiftCreate(
        location_id=site.id, worker_id=worker.id, start=start, end=start + dt.timedelta(hours=8),
        role=MARKUP, notes=MARKUP))
    key = keys.issue_key(account.id, MARKUP)
    api_logs.write_logs([api_logs.ApiLogEntry(
        created_at=dt.datetime.now(dt.UTC), account_id=account.id, key_id=key.key.id,
        key_name=MARKUP, key_prefix=key.key.prefix, method="GET",
        path=f"/api/v1/workers/{MARKUP}", query="", status=404, duration_ms=1.0,
        client="127.0.0.1", user_agent=f"{MARKUP} \x1b[2J\u202e", request_id="r1",
        error_code="not_found")])
    desktop = start_desktop()
    window = desktop.window
    problems: dict[str, list[str]] = {}
    for name in list(window._panel_types):
        panel = window.show_panel(name)
        settle(qtbot)
        qtbot.wait(50)
        if name == "api_logs":
            qtbot.waitUntil(lambda p=panel: p.model.rowCount() == 1)
            panel.table.selectRow(0)
        found = markup_shown_anywhere(window)
        if found:
            problems[name] = found
    assert problems == {}
    assert window.account_name.text() == f"{MARKUP} Staffing"
    shown = window.show_panel("api_logs").detail.toPlainText()
    assert MARKUP in shown  # the path and user agent, as sent
    assert "\x1b" not in shown and "\u202e" not in shown and "\\x1b[2J" in shown


def test_message_boxes_show_names_as_written(qtbot, start_desktop):
    desktop = start_desktop()
    box = show_notice(desktop.window, "Saved", f"Worker {MARKUP} was saved.")
    try:
        assert box.textFormat() == Qt.TextFormat.PlainText
        assert MARKUP in box.text()
    finally:
        box.close()
