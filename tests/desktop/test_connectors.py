"""Connectors panel: the installed connectors and a plugin that failed to load, the settings
form generated from what a connector declares, dry runs and runs with progress and Cancel,
the run history with bad rows by line, and the per-account switch."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from desktop_helpers import column_texts, settle
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPlainTextEdit, QPushButton

from tempclock.api.services import clocking, connectors, workers
from tempclock.plugins import Connector, Setting, hookimpl
from tempclock.plugins.manager import load_plugins
from tests.conftest import allow_internal_targets

ATS_EXPORT = """Candidate ID,Forename,Surname,Site,Start Date
C-1,Ana,Popescu,Leeds DC,02/03/2026
C-2,,Nowak,Leeds DC,02/03/2026
C-3,Jonas,Kazlauskas,Leeds DC,02/03/2026
C-4,Marek,Wojcik,Hull Docks,02/03/2026
C-5,Siobhan,Byrne,,31/02/2026
C-6,Liam,Walsh,,
"""


class BrokenPlugin:
    @hookimpl
    def register_connectors(self, register):
        raise RuntimeError("licence server unreachable")


class SlowSync(Connector):
    """Works through many small batches until it is cancelled."""

    id = "slow-sync"
    name = "Slow sync"
    kind = "ats"
    capabilities = frozenset({"import_workers"})
    settings = (Setting("batches", "Batches", type="integer", default=5000),)
    started = threading.Event()

    def run(self, context):
        total = context.settings["batches"]
        for n in range(total):
            context.check_cancelled()
            context.count("batches")
            context.progress(n, total, f"batch {n}")
            self.started.set()
            threading.Event().wait(0.01)  # one batch's work


class SlowPlugin:
    @hookimpl
    def register_connectors(self, register):
        register(SlowSync())


@pytest.fixture
def plugins():
    """The installed plugins, plus one that fails to load and one with a long-running connector
    (the desktop closes the host when it stops)."""
    host = load_plugins()
    host.add_plugin(BrokenPlugin(), "broken_plugin")
    host.add_plugin(SlowPlugin(), "slow_plugin")
    return host


def open_connector(qtbot, start_desktop, plugins, connector_id: str):
    desktop = start_desktop(plugins=plugins)
    panel = desktop.window.show_panel("connectors")
    qtbot.waitUntil(lambda: panel.model.rowCount() == 4)
    panel.select_connector(connector_id)
    settle(qtbot)
    assert panel.current.id == connector_id
    return desktop, panel


def test_installed_connectors_and_a_plugin_that_failed_to_load_are_shown(
        qtbot, start_desktop, plugins):
    desktop, panel = open_connector(qtbot, start_desktop, plugins, "ats-csv")
    names = column_texts(panel.model, 0)
    assert {"ATS import (CSV)", "Payroll export (CSV)", "CRM push", "Slow sync"} == set(names)
    row = names.index("ATS import (CSV)")
    assert [panel.model.data(panel.model.index(row, c)) for c in range(6)][1:] == [
        "ATS", "1.1.0", "Built in", "Imports workers", "Off"]
    assert "plugin ats_csv" in panel.meta_label.toolTip()  # the technical origin, one hover away
    assert (f"package tempclock {plugins.connectors['ats-csv'].package_version}"
            in panel.model.data(panel.model.index(row, 3), Qt.ItemDataRole.ToolTipRole))

    assert panel.problems.isVisible()
    (problem,) = panel.problems.texts
    assert "broken_plugin" in problem
    assert "failed while registering its connectors" in problem
    assert "licence server unreachable" in problem
    toggle = panel.problems.findChild(QPushButton, "DetailsToggle")
    traceback_view = panel.problems.findChild(QPlainTextEdit, "Details")
    assert not traceback_view.isVisible()
    toggle.click()
    assert traceback_view.isVisible()
    assert "RuntimeError: licence server unreachable" in traceback_view.toPlainText()


def test_a_dry_run_reports_bad_rows_by_line_and_writes_nothing_and_a_run_imports(
        qtbot, start_desktop, plugins, account, make_location, tmp_path):
    make_location(account.id, "Leeds DC")
    export = tmp_path / "ats.csv"
    export.write_text(ATS_EXPORT, encoding="utf-8")
    desktop, panel = open_connector(qtbot, start_desktop, plugins, "ats-csv")
    form = panel.form
    assert set(form.fields) == {"file", "mapping", "date_format", "create_departments",
                                "deactivate_missing", "deactivate_despite_errors"}
    form.fields["file"].input.text.setText(str(export))

    with qtbot.waitSignal(panel.run_finished, timeout=15_000) as finished:
        panel.dry_run_button.click()
    run = finished.args[0]
    assert (run.dry_run, run.status) == (True, "succeeded")
    assert column_texts(panel.history, 1) == ["Dry run"]
    assert column_texts(panel.history, 2) == ["Succeeded"]
    assert column_texts(panel.history, 3) == ["3 created · 6 rows · 3 errors"]
    detail = panel.run_detail.toPlainText()
    assert "Nothing was written" in detail
    assert "Line 3\nfirst name is empty" in detail
    assert "Line 5\nunknown location 'Hull Docks'" in detail
    assert "Line 6\n'31/02/2026' is not a date" in detail
    assert workers.list_workers(account.id).data == []  # a dry run writes nothing

    with qtbot.waitSignal(panel.run_finished, timeout=15_000) as finished:
        panel.run_button.click()
    assert finished.args[0].status == "succeeded"
    assert column_texts(panel.history, 1) == ["Run", "Dry run"]  # newest first
    assert column_texts(panel.history, 3)[0] == "3 created · 6 rows · 3 errors"
    assert "Rows not imported (3)" in panel.run_detail.toPlainText()

    people = desktop.window.show_panel("workers")
    qtbot.waitUntil(lambda: sorted(column_texts(people.proxy, 0)) == [
        "Ana Popescu", "Jonas Kazlauskas", "Liam Walsh"])
    # The run used the form's values; Save keeps them for next time.
    assert connectors.get_config(account.id, "ats-csv").settings == {}


def test_a_long_run_shows_progress_and_is_cancelled(qtbot, start_desktop, plugins):
    SlowSync.started.clear()
    desktop, panel = open_connector(qtbot, start_desktop, plugins, "slow-sync")
    assert panel.form.fields["batches"].input.value() == 5000
    panel.run_button.click()
    qtbot.waitUntil(SlowSync.started.is_set)
    qtbot.waitUntil(lambda: "Slow sync: run:" in panel.run_status.text()
                    and "of 5,000 · batch" in panel.run_status.text())
    assert panel.progress.isVisible() and panel.progress.maximum() == 5000
    assert not panel.run_button.isEnabled() and not panel.dry_run_button.isEnabled()

    with qtbot.waitSignal(panel.run_finished, timeout=15_000) as finished:
        panel.cancel_button.click()
    run = finished.args[0]
    assert run.status == "cancelled"
    assert 0 < run.counts["batches"] < 5000
    assert column_texts(panel.history, 2) == ["Cancelled"]
    assert "Cancelled by the admin" in panel.run_detail.toPlainText()
    assert not panel.cancel_button.isVisible() and panel.run_button.isEnabled()


def test_a_bad_setting_is_refused_with_the_message_by_its_field(
        qtbot, start_desktop, plugins, account):
    desktop, panel = open_connector(qtbot, start_desktop, plugins, "crm-push")
    form = panel.form
    form.fields["url"].input.setText("ftp://crm.example.com/in")
    panel.save_button.click()
    qtbot.waitUntil(lambda: form.field_error("url") == "CRM endpoint URL must be an http(s) URL")
    assert form.field_error("events") == ""
    assert connectors.get_config(account.id, "crm-push").updated_at is None  # nothing saved

    panel.select_connector("ats-csv")
    settle(qtbot)
    panel.run_button.click()  # no file chosen
    qtbot.waitUntil(lambda: panel.form.field_error("file") == "CSV file is required")
    assert column_texts(panel.history, 0) == []


def test_a_connector_is_switched_on_and_off_per_account_and_it_persists(
        qtbot, start_desktop, plugins, account):
    allow_internal_targets(account.id)  # the CRM endpoint below is on this PC
    desktop, panel = open_connector(qtbot, start_desktop, plugins, "crm-push")
    panel.enabled.click()  # no URL yet: refused, and the switch goes back
    qtbot.waitUntil(lambda: panel.form.field_error("url") == "CRM endpoint URL is required")
    assert not panel.enabled.isChecked()

    form = panel.form
    form.fields["url"].input.setText("http://127.0.0.1:9/crm")
    form.fields["events"].input.boxes["clock_in"].setChecked(True)
    form.fields["authorization"].input.setText("Bearer s3cret")
    panel.save_button.click()
    qtbot.waitUntil(lambda: connectors.get_config(account.id, "crm-push").updated_at is not None)
    settle(qtbot)
    saved = connectors.get_config(account.id, "crm-push").settings
    assert saved["events"] == ["clock_in", "worker_created", "worker_updated"]
    assert saved["authorization"] == "Bearer s3cret"
    secret = panel.form.fields["authorization"].input
    assert secret.text() == "" and "Saved" in secret.placeholderText()  # never shown back

    panel.enabled.click()
    row = column_texts(panel.model, 0).index("CRM push")
    qtbot.waitUntil(lambda: column_texts(panel.model, 5)[row] == "Enabled")
    assert connectors.get_config(account.id, "crm-push").enabled

    panel.refresh()  # as after a restart: read back from the store
    settle(qtbot)
    panel.select_connector("crm-push")
    assert panel.enabled.isChecked()
    assert panel.form.values["authorization"] == "Bearer s3cret"  # kept though not shown
    panel.enabled.click()
    qtbot.waitUntil(lambda: not connectors.get_config(account.id, "crm-push").enabled)
    assert connectors.get_config(account.id, "crm-push").settings["authorization"] == "Bearer s3cret"


def test_an_export_is_written_to_the_exports_folder_of_the_data_directory(
        qtbot, start_desktop, plugins, config):
    desktop, panel = open_connector(qtbot, start_desktop, plugins, "payroll-csv")
    assert panel.exports_button.isVisible()
    assert panel.form.fields["period"].input.currentText() == "Last week"
    with qtbot.waitSignal(panel.run_finished, timeout=15_000) as finished:
        panel.run_button.click()
    assert finished.args[0].status == "succeeded"
    written = sorted(p.name for p in (config.data_dir / "exports").glob("payroll_*.csv"))
    assert len(written) == 3
    assert f"files in {config.data_dir / 'exports'}" in panel.run_status.text()


def test_a_payroll_run_that_leaves_out_an_open_entry_warns_the_admin(
        qtbot, start_desktop, plugins, account, site, worker, tmp_path):
    started = dt.datetime(2026, 3, 3, 6, tzinfo=dt.UTC)
    with time_machine.travel(started + dt.timedelta(hours=1), tick=False):
        clocking.clock_in(account.id, worker.id, timestamp=started)  # still clocked in
    connectors.save_settings(account.id, plugins.connectors["payroll-csv"].connector, {
        "period": "custom", "date_from": "2026-03-02", "date_to": "2026-03-08",
        "output_dir": str(tmp_path)})
    desktop, panel = open_connector(qtbot, start_desktop, plugins, "payroll-csv")
    with qtbot.waitSignal(panel.run_finished, timeout=15_000) as finished:
        panel.run_button.click()
    run = finished.args[0]
    assert run.status == "succeeded" and run.counts["open_entries"] == 1
    assert "1 thing needs attention: see below" in panel.run_status.text()
    qtbot.waitUntil(lambda: panel.attention_banner.isVisible())
    assert "not the whole story: 1 thing needs attention" in panel.attention_banner.text.text()
    assert column_texts(panel.history, 2)[0] == "Needs attention"
    detail = panel.run_detail.toPlainText()
    assert "Needs attention (1)" in detail
    assert (f"Ann Nowak ({worker.employee_ref}) at Leeds DC: clocked in 2026-03-03 06:00 GMT "
            "and not clocked out, so not paid") in detail


def test_a_crm_endpoint_inside_the_office_is_refused_by_its_field_until_allowed(
        qtbot, start_desktop, plugins, account):
    desktop, panel = open_connector(qtbot, start_desktop, plugins, "crm-push")
    expected = {"http://127.0.0.1:9/crm": "internal address not allowed",
                "https://169.254.169.254/latest/meta-data/": "internal address not allowed",
                "https://10.0.0.7/crm": "internal address not allowed",
                "https://localhost/crm": "internal address not allowed",
                "https://xn--/crm": "is not a valid URL"}
    for url, reason in expected.items():
        panel.form.clear_errors()
        panel.form.fields["url"].input.setText(url)
        panel.save_button.click()
        qtbot.waitUntil(lambda: panel.form.field_error("url") != "")
        assert reason in panel.form.field_error("url"), url
        settle(qtbot)
    assert connectors.get_config(account.id, "crm-push").updated_at is None


class AlertsHook:
    """A hook-only plugin with settings of its own (TEMPCLOCK_SETTINGS)."""

    TEMPCLOCK_SETTINGS = (
        Setting("alerts_url", "Alerts URL", type="url", required=True),
        Setting("threshold", "Alert after (hours)", type="integer", default=12),
    )

    @hookimpl
    def clock_out(self, event, context):
        pass


def test_a_hook_plugins_settings_are_edited_in_the_connectors_form(
        qtbot, start_desktop, account):
    host = load_plugins()
    host.add_plugin(AlertsHook(), "shift_alerts")
    desktop = start_desktop(plugins=host)
    panel = desktop.window.show_panel("connectors")
    qtbot.waitUntil(lambda: panel.model.rowCount() == 4)
    panel.select_connector("shift_alerts")
    settle(qtbot)
    row = column_texts(panel.model, 0).index("shift_alerts")
    assert column_texts(panel.model, 5)[row] == "Always on"
    assert panel.enabled.isHidden() and "clock out" in panel.about_label.text()
    form = panel.form
    assert set(form.fields) == {"alerts_url", "threshold"}
    panel.save_button.click()  # the URL is required
    qtbot.waitUntil(lambda: form.field_error("alerts_url") == "Alerts URL is required")
    form.fields["alerts_url"].input.setText("https://alerts.example.com/long")
    form.fields["threshold"].input.setValue(10)
    panel.save_button.click()
    qtbot.waitUntil(lambda: connectors.get_config(account.id, "shift_alerts").updated_at
                    is not None)
    context = connectors.AccountContext(account.id).for_plugin(
        "shift_alerts", AlertsHook.TEMPCLOCK_SETTINGS)
    assert context.settings == {"alerts_url": "https://alerts.example.com/long", "threshold": 10}


class SpoofingSync(Connector):
    """Passes on what an outside system told it, hidden characters and all."""

    id = "spoofing-sync"
    name = "Spoofing sync"
    kind = "ats"
    capabilities = frozenset({"import_workers"})

    def run(self, context):
        context.log("fetched payroll\u202ecod.exe from \x1b[2Jthe ATS")
        context.row_error(2, "candidate \u202eNAJ has no site")
        context.needs_attention("check \u2066candidate\u2069 \u200bC-1")
        raise RuntimeError("the ATS said: \u202edeliaf")


class SpoofingPlugin:
    @hookimpl
    def register_connectors(self, register):
        register(SpoofingSync())
        raise RuntimeError("licence \u202erevres unreachable")


def test_hidden_characters_a_plugin_passes_on_are_shown_escaped_in_its_run_and_problems(
        qtbot, start_desktop):
    """Bidirectional overrides, zero-width and control characters in a plugin's log, bad
    rows, needs-attention list, failure and load problem were shown raw (reordering what
    the admin read: 'payroll<U+202E>cod.exe' reads as 'payrollexe.doc'); the CLI and the
    API log views already escaped them."""
    host = load_plugins()
    host.add_plugin(SpoofingPlugin(), "spoofing_plugin")
    desktop, panel = open_connector(qtbot, start_desktop, host, "spoofing-sync")
    with qtbot.waitSignal(panel.run_finished, timeout=15_000) as finished:
        panel.run_button.click()
    assert finished.args[0].status == "failed"
    settle(qtbot)
    shown = panel.run_detail.toPlainText() + "\n".join(panel.problems.texts)
    for hidden in ("\u202e", "\u2066", "\u2069", "\u200b", "\x1b"):
        assert hidden not in shown, f"{hidden!r} shown raw in:\n{shown!r}"
    for escaped in ("payroll\\u202ecod.exe", "\\x1b[2J", "\\u202eNAJ", "\\u2066candidate",
                    "\\u202edeliaf", "licence \\u202erevres"):
        assert escaped in shown, f"{escaped!r} not in:\n{shown!r}"
