"""Adversarial cases for imports and exports, through the real `tempclock` command.

Each test is a file or a setting an agency really has that once went wrong.
"""

from __future__ import annotations

from test_cli_connectors import one_line_error, tc


def test_a_payroll_folder_that_is_a_file_is_one_plain_error_line(tmp_path):
    in_the_way = tmp_path / "payroll"
    in_the_way.write_text("not a folder")
    tc(tmp_path, "accounts", "create", "Acme")
    result = tc(tmp_path, "connectors", "run", "payroll-csv", "--account", "1",
                "--set", f"output_dir={in_the_way}", ok=False)
    assert result.returncode == 1
    line = one_line_error(result)
    assert line.startswith(f"Error: Cannot write {in_the_way}/payroll_")
    assert f"{in_the_way} is a file, not a folder" in line
    assert "Error:" not in line[1:] and "FileExistsError" not in line


def test_a_payroll_folder_that_cannot_be_created_is_one_plain_error_line(tmp_path):
    tc(tmp_path, "accounts", "create", "Acme")
    result = tc(tmp_path, "connectors", "run", "payroll-csv", "--account", "1",
                "--set", "output_dir=/proc/1/payroll", ok=False)
    assert result.returncode == 1
    line = one_line_error(result)
    assert line.startswith("Error: Cannot write /proc/1/payroll/payroll_")
    assert "Error]" not in line and "Errno" not in line
