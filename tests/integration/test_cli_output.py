"""What a client sends never drives the admin's terminal: `tempclock` escapes control
characters (ESC, DEL, C1 such as CSI \\x9b, bidi overrides) in everything it prints."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

from tempclock.api.services import api_logs

SCRIPT = Path(sys.executable).with_name("tempclock")
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "tempclock.api.cli"]
UNSAFE = {"Cc", "Cf", "Cs", "Cn", "Zl", "Zp"}


def raw_controls(text: str) -> list[str]:
    """The characters of `text` a terminal would act on rather than show (newlines aside)."""
    return [repr(c) for c in text if c != "\n" and unicodedata.category(c) in UNSAFE]


def send(url: str, target: bytes, headers: list[bytes]) -> int:
    """One GET with exactly these bytes on the wire."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    request = b"\r\n".join([b"GET " + target + b" HTTP/1.1", b"Host: " + host.encode(),
                            b"Connection: close", *headers]) + b"\r\n\r\n"
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def tempclock(api, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*COMMAND, *args, "--data-dir", str(api.config.data_dir)],
                          capture_output=True, text=True, encoding="utf-8", timeout=60,
                          check=False)


def test_escape_sequences_planted_over_http_reach_tempclock_logs_only_escaped(api, tenant):
    auth = f"Authorization: Bearer {tenant.key}".encode()
    planted = [
        (b"/api/v1/workers/%1B%5B2J%1B%5D0;owned%07", [auth]),  # ESC, OSC, BEL in the path
        (b"/api/v1/workers/%C2%9B31m%7F", [auth]),  # C1 CSI and DEL
        (b"/api/v1/workers/%E2%80%AEfdp.exe", [auth]),  # a right-to-left override
        (b"/api/v1/workers?q=%1B%5B31m", [auth]),
        (b"/api/v1/workers", [auth, b"User-Agent: ATS \x9b2J \xe2\x80\xae gnp.exe"]),
        (b"/api/v1/workers", [b"Authorization: Bearer \x9b31mnot-a-key",
                              b"User-Agent: \x85\x8d\x9d"]),
    ]
    for target, headers in planted:
        assert send(api.url, target, headers) < 500
    deadline = time.monotonic() + 10
    while len(api_logs.list_logs(limit=1000)) < len(planted) and time.monotonic() < deadline:
        time.sleep(0.05)
    stored = " ".join(e.path + e.query + e.user_agent for e in api_logs.list_logs(limit=1000))
    assert "\x1b" in stored and "\x9b" in stored and "\u202e" in stored  # kept, as sent

    table = tempclock(api, "logs", "--limit", "1000")
    assert table.returncode == 0, table.stderr
    assert raw_controls(table.stdout) == []
    assert "\\x1b[2J" in table.stdout and "\\x9b" in table.stdout and "\\u202e" in table.stdout

    as_json = tempclock(api, "logs", "--limit", "1000", "--json")
    assert raw_controls(as_json.stdout) == []
    paths = {entry["path"] for entry in json.loads(as_json.stdout)["logs"]}
    assert "/api/v1/workers/\u202efdp.exe" in paths  # the same data, only escaped


def test_an_error_message_echoing_a_path_prints_no_control_characters(tmp_path):
    trap = tmp_path / "agency\x1b]0;owned\x07\x9b2J\u202e"
    trap.write_text("")  # a file where a data directory should be: click names it
    result = subprocess.run([*COMMAND, "logs", "--data-dir", str(trap)], capture_output=True,
                            text=True, encoding="utf-8", timeout=60, check=False)
    assert result.returncode != 0
    assert result.stderr.startswith("Error: ") and len(result.stderr.splitlines()) == 1
    assert raw_controls(result.stderr) == []
    assert "agency\\x1b]0;owned" in result.stderr
