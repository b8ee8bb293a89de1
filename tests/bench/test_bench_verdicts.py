"""Benchmarks tell scripts and CI when their target is missed: exit status 1 on NOT MET."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
NO_TARGET = {"api_instructions.py", "background_load.py"}  # measurements for decisions


def run_verdict(met: bool) -> subprocess.CompletedProcess[str]:
    code = f"from _common import verdict; verdict({met!r}, 'ratio 0.31, target >= 0.40')"
    return subprocess.run([sys.executable, "-c", code], cwd=BENCH, capture_output=True,
                          text=True, timeout=60, check=False)


def test_a_missed_target_prints_not_met_and_exits_with_status_1():
    result = run_verdict(False)
    assert result.returncode == 1
    assert result.stdout.strip() == "verdict: NOT MET (ratio 0.31, target >= 0.40)"


def test_a_met_target_prints_met_and_exits_with_status_0():
    result = run_verdict(True)
    assert result.returncode == 0
    assert result.stdout.strip() == "verdict: MET (ratio 0.31, target >= 0.40)"


def _calls_verdict(script: Path) -> bool:
    tree = ast.parse(script.read_text(encoding="utf-8"))
    return any(isinstance(node, ast.Call) and getattr(node.func, "id", None) == "verdict"
               for node in ast.walk(tree))


def test_every_benchmark_with_a_target_ends_through_the_verdict_that_exits_non_zero():
    scripts = sorted(p for p in BENCH.glob("*.py")
                     if not p.name.startswith("_") and p.name not in NO_TARGET)
    assert scripts, "no benchmarks found"
    silent = [p.name for p in scripts if not _calls_verdict(p)]
    assert silent == [], f"these benchmarks can miss their target and still exit 0: {silent}"
