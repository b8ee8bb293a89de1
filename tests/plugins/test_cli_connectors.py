"""`tempclock connectors list` and `run`, through the real command."""

from __future__ import annotations

import json
import os
import re

from cli_runs import run_tempclock


def tc(data_dir, *args, env=None, ok=True):
    result = run_tempclock([*args, "--data-dir", str(data_dir)], env=env, timeout=120)
    if ok:
        assert result.returncode == 0, result.stderr
    return result


def test_list_shows_the_installed_connectors(tmp_path):
    listed = json.loads(tc(tmp_path, "connectors", "list", "--json").stdout)
    by_id = {c["id"]: c for c in listed["connectors"]}
    assert by_id["ats-csv"]["kind"] == "ats"
    assert by_id["payroll-csv"]["capabilities"] == ["export_timesheets"]
    assert by_id["crm-push"]["package"] == "tempclock"
    assert listed["problems"] == []


def test_an_installed_third_party_package_is_listed_and_runs(tmp_path, tiny_site):
    env = {**os.environ, "PYTHONPATH": str(tiny_site)}
    tc(tmp_path, "accounts", "create", "Acme", env=env)
    listed = tc(tmp_path, "connectors", "list", env=env).stdout
    assert "tiny-roster" in listed and "tempclock-tiny-roster" in listed
    run = json.loads(tc(tmp_path, "connectors", "run", "tiny-roster", "--account", "1",
                        "--set", "roster=T1:Ann Nowak, T2:Bob Smith", "--json", env=env).stdout)
    assert run["status"] == "succeeded" and run["counts"] == {"created": 2}


def test_run_imports_a_csv_and_reports_bad_rows_by_line(tmp_path):
    csv_file = tmp_path / "ats.csv"
    rows = ["Candidate ID,Forename,Surname"] + [f"C{n},Ann,Nowak{n}" for n in range(300)]
    rows.append("C999,,Nobody")
    csv_file.write_text("\n".join(rows) + "\n")
    tc(tmp_path, "accounts", "create", "Acme")
    dry = tc(tmp_path, "connectors", "run", "ats-csv", "--account", "1", "--set",
             f"file={csv_file}", "--dry-run")
    assert "succeeded (dry run): 300 created, 1 errors, 301 rows" in dry.stdout
    assert "line 302: first name is empty" in dry.stdout
    real = tc(tmp_path, "connectors", "run", "ats-csv", "--account", "1", "--set",
              f"file={csv_file}")
    assert "300 created" in real.stdout


def test_bad_requests_are_one_line_errors(tmp_path):
    tc(tmp_path, "accounts", "create", "Acme")
    unknown = tc(tmp_path, "connectors", "run", "nope", "--account", "1", ok=False)
    assert unknown.returncode == 1
    assert one_line_error(unknown).startswith("Error: No connector 'nope' (installed: ")
    missing = tc(tmp_path, "connectors", "run", "ats-csv", "--account", "1", ok=False)
    assert missing.stderr.strip() == "Error: CSV file is required"
    bad_set = tc(tmp_path, "connectors", "run", "ats-csv", "--account", "1", "--set", "file",
                 ok=False)
    assert "write NAME=VALUE" in one_line_error(bad_set)
    events_only = tc(tmp_path, "connectors", "run", "crm-push", "--account", "1", ok=False)
    assert "only receives events" in one_line_error(events_only)


def test_a_failed_run_exits_non_zero_with_its_reason(tmp_path):
    tc(tmp_path, "accounts", "create", "Acme")
    result = tc(tmp_path, "connectors", "run", "ats-csv", "--account", "1", "--set",
                f"file={tmp_path / 'absent.csv'}", ok=False)
    assert result.returncode == 1
    line = one_line_error(result)
    assert line.startswith("Error: No such file: ") and line.endswith("(run 1)")


def one_line_error(result) -> str:
    """The run failed as the README promises: one `Error: ...` line, non-zero, no traceback."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def run_ats(data_dir, csv_path, *more):
    return tc(data_dir, "connectors", "run", "ats-csv", "--account", "1", "--set",
              f"file={csv_path}", *more, ok=False)


def test_a_file_that_cannot_be_imported_is_one_error_line_with_the_run_id(tmp_path):
    tc(tmp_path, "accounts", "create", "Acme")
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "binary.csv").write_bytes(bytes(range(256)) * 40)
    (tmp_path / "book.xlsx").write_bytes(b"PK\x03\x04" + bytes(500))
    (tmp_path / "loop.csv").symlink_to(tmp_path / "loop.csv")
    (tmp_path / "names.csv").write_text("Candidate ID,Forename,Surname\nC1,Ann,Nowak\n")
    (tmp_path / "open-quote.csv").write_text('Candidate ID,Forename,Surname\nC1,"Ann,N\nC2,B,S\n')
    (tmp_path / "one-long-line.csv").write_text("x" * 200_000)
    (tmp_path / "sep-only.csv").write_text("sep=;\r\n")
    os.mkfifo(tmp_path / "pipe.csv")
    expected = {
        "absent.csv": "No such file",
        "empty.csv": "is empty",
        "folder.csv": "is a folder",
        "binary.csv": "not a text (CSV) file",
        "book.xlsx": "Excel workbook",
        "loop.csv": "Cannot read",
        "open-quote.csv": "line 2 cannot be read as CSV (unexpected end of data",
        "one-long-line.csv": "line 1 cannot be read as CSV (field larger than field limit",
        "sep-only.csv": "no header line",
        "pipe.csv": "is not a regular file",
    }
    for name, words in expected.items():
        line = one_line_error(run_ats(tmp_path, tmp_path / name))
        assert words in line, line
        assert re.search(r"\(run \d+\)$", line), line
    mapped = one_line_error(run_ats(tmp_path, tmp_path / "names.csv", "--set",
                                    "mapping=employee_ref=Payroll No"))
    assert "The mapping names column 'Payroll No', which the file does not have" in mapped


def test_an_unreadable_file_is_one_error_line(tmp_path):
    if os.geteuid() == 0:  # root reads anything: make it unreadable another way
        target = tmp_path / "unreadable.csv"
        target.mkdir()
        (target / "x").write_text("")
        target = tmp_path / "unreadable.csv" / "x" / "deeper.csv"
    else:
        target = tmp_path / "unreadable.csv"
        target.write_text("Candidate ID,Forename,Surname\n")
        target.chmod(0)
    tc(tmp_path, "accounts", "create", "Acme")
    line = one_line_error(run_ats(tmp_path, target))
    assert str(target) in line


def test_bad_account_and_bad_settings_are_one_error_line(tmp_path):
    tc(tmp_path, "accounts", "create", "Acme")
    csv_file = tmp_path / "ats.csv"
    csv_file.write_text("Candidate ID,Forename,Surname\nC1,Ann,Nowak\n")
    for args in (["--account", "99", "--set", f"file={csv_file}"],
                 ["--account", "99999999999999999999", "--set", f"file={csv_file}"],
                 ["--account", "x"],
                 ["--account", "1", "--set", f"file={csv_file}", "--set", "date_format=YMD"],
                 ["--account", "1", "--set", "=x"],
                 ["--account", "1", "--set", f"file={csv_file}", "--set",
                  "deactivate_missing=perhaps"]):
        one_line_error(tc(tmp_path, "connectors", "run", "ats-csv", *args, ok=False))


RAISING = '''
from tempclock.plugins import Connector, Setting, hookimpl


class Raising(Connector):
    id = "raising"
    name = "Raising"
    kind = "ats"
    version = "0.1.0"
    capabilities = frozenset({"import_workers"})
    settings = (Setting("how", "How", default="runtime"),)

    def run(self, context):
        context.progress(1, 10, "first of ten")
        context.log("about to fail", level="warning")
        how = context.settings["how"]
        if how == "exit":
            raise SystemExit(0)
        if how == "keyerror":
            return {}["missing"]
        raise RuntimeError("licence server unreachable\\nsecond line\\x1b[31m")


@hookimpl
def register_connectors(register):
    register(Raising())
'''
BROKEN = '''
from tempclock.plugins import hookimpl


@hookimpl
def register_connectors(register):
    raise RuntimeError("this plugin is broken too")
'''


def test_a_connector_that_raises_fails_its_run_in_one_line_without_a_traceback(tmp_path):
    site = tmp_path / "site"
    (site / "raising_plugin-0.1.0.dist-info").mkdir(parents=True)
    (site / "raising_plugin.py").write_text(RAISING)
    (site / "broken_plugin.py").write_text(BROKEN)  # its warning must not reach stderr either
    (site / "raising_plugin-0.1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: raising-plugin\nVersion: 0.1.0\n")
    (site / "raising_plugin-0.1.0.dist-info" / "entry_points.txt").write_text(
        "[tempclock]\nraising = raising_plugin\nbroken = broken_plugin\n")
    env = {**os.environ, "PYTHONPATH": str(site)}
    tc(tmp_path, "accounts", "create", "Acme", env=env)
    for how, words in (("runtime", "RuntimeError: licence server unreachable second line"),
                       ("exit", "SystemExit: 0"), ("keyerror", "KeyError: 'missing'")):
        result = tc(tmp_path, "connectors", "run", "raising", "--account", "1", "--set",
                    f"how={how}", env=env, ok=False)
        line = one_line_error(result)
        assert words in line and "\x1b" not in line, line
        as_json = tc(tmp_path, "connectors", "run", "raising", "--account", "1", "--set",
                     f"how={how}", "--json", env=env, ok=False)
        assert as_json.returncode == 1 and "Traceback" not in as_json.stderr
        answer = json.loads(as_json.stdout)
        assert answer["error"] is True and answer["code"] == "run_failed"
        assert answer["run_id"] > 0


def test_a_run_that_skips_deactivation_says_so_on_the_terminal(tmp_path):
    tc(tmp_path, "accounts", "create", "Acme")
    first = tmp_path / "first.csv"
    first.write_text("Candidate ID,Forename,Surname\nC1,Ann,Nowak\nC2,Bob,Smith\n")
    tc(tmp_path, "connectors", "run", "ats-csv", "--account", "1", "--set", f"file={first}")
    second = tmp_path / "second.csv"
    second.write_text("Candidate ID,Forename,Surname\nC1,Ann,Nowak\nC3,,Jones\n")
    result = tc(tmp_path, "connectors", "run", "ats-csv", "--account", "1", "--set",
                f"file={second}", "--set", "deactivate_missing=yes")
    assert "line 3: first name is empty" in result.stdout
    assert "Deactivation skipped: 1 row has errors" in result.stdout
    assert "deactivated" not in result.stdout.replace("Deactivation skipped", "")
