"""The API-logs panel shows a flood of refusals as the one row it was kept as, with its count."""

from __future__ import annotations

import datetime as dt

from desktop_helpers import column_texts, settle
from PySide6.QtCore import Qt

from tempclock.api.services import api_logs


def test_an_aggregated_refusal_row_shows_how_many_requests_it_stands_for(qtbot, start_desktop,
                                                                          account):
    now = dt.datetime.now(dt.UTC)
    api_logs.RefusalTally().write([api_logs.ApiLogEntry(
        created_at=now, account_id=None, key_id=None, key_name=None, key_prefix=None,
        method="GET", path="/api/v1/workers", query="", status=429, duration_ms=0.1,
        client="192.168.1.50", user_agent="broken-sync/1.0", request_id=f"r{n}",
        error_code="rate_limited") for n in range(4000)])
    desktop = start_desktop()
    panel = desktop.window.show_panel("api_logs")
    settle(qtbot)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1)
    headers = [panel.model.headerData(c, Qt.Orientation.Horizontal)
               for c in range(panel.model.columnCount())]
    count = headers.index("Count")
    assert column_texts(panel.model, count) == ["×4,000"]
    assert column_texts(panel.model, 1) == ["Unattributed · Refused: too many failed attempts"]
    panel.table.selectRow(0)
    assert "4,000" in panel.detail.toPlainText()
