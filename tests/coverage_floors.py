"""Coverage by folder after pytest-cov's report, and a failed run when a folder is under its floor.

The README's test command (`pytest --cov`) ends with coverage.py's table of every file; this adds
one line per folder that issue 15 holds to a floor: the figure coverage.py reports with
branch=true (statements and branches together) and the branches alone. Issue 15 speaks of
branch coverage, so a whole-suite run (no paths, no -k/-m selection) fails when a folder's
BRANCH figure (or its combined one) is under FLOOR; a run of some files only prints the figures, since they then
measure only what those files reach.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

FLOOR = 95.0
FOLDERS = ("api/services/", "api/http/", "api/cli.py", "plugins/")


@dataclass(frozen=True)
class FolderCoverage:
    """What coverage.py measured in one folder (or file) of the repository."""

    folder: str
    statements: int
    covered_statements: int
    branches: int
    covered_branches: int

    @property
    def percent(self) -> float:
        """Statements and branches together, as coverage.py's report computes it."""
        total = self.statements + self.branches
        return 100.0 * (self.covered_statements + self.covered_branches) / total if total else 100.0

    @property
    def branch_percent(self) -> float:
        return 100.0 * self.covered_branches / self.branches if self.branches else 100.0

    @property
    def under_floor(self) -> bool:
        """Whether the branches alone (what issue 15 holds to FLOOR), or the combined figure
        (as before), are under FLOOR."""
        return min(self.branch_percent, self.percent) < FLOOR

    def line(self) -> str:
        verdict = ("ok" if not self.under_floor else f"branches UNDER {FLOOR:.0f}%"
                   if self.branch_percent < FLOOR else f"UNDER {FLOOR:.0f}%")
        return (f"  {self.folder:<14} {self.percent:5.1f}%  branches {self.covered_branches}/"
                f"{self.branches} = {self.branch_percent:5.1f}%  {verdict}")


def measure(cov, root: Path, folder: str) -> FolderCoverage | None:
    """The totals of `folder` in the combined data of `cov`, or None when nothing there ran."""
    pattern = f"{root}/{folder}" + ("*" if folder.endswith("/") else "")
    with tempfile.TemporaryDirectory() as scratch:
        outfile = Path(scratch) / "coverage.json"
        try:
            cov.json_report(outfile=str(outfile), include=[pattern])
        except Exception:  # noqa: BLE001 - coverage.py's NoDataError: no file of it was measured
            return None
        totals = json.loads(outfile.read_text())["totals"]
    return FolderCoverage(folder.rstrip("/"), totals["num_statements"], totals["covered_lines"],
                          totals.get("num_branches", 0), totals.get("covered_branches", 0))


def _whole_suite(config: pytest.Config) -> bool:
    option = config.option
    return (config.args_source == pytest.Config.ArgsSource.TESTPATHS
            and not option.keyword and not option.markexpr
            and not getattr(option, "lf", False) and not getattr(option, "deselect", None))


class CoverageFloors:
    """Reads the combined data once pytest-cov has combined it (the controller, under xdist)."""

    def __init__(self) -> None:
        self.figures: list[FolderCoverage] = []
        self.enforced = False

    @pytest.hookimpl(wrapper=True, tryfirst=True)  # outside pytest-cov's: runs after it combined
    def pytest_runtestloop(self, session: pytest.Session):
        result = yield
        cov_plugin = session.config.pluginmanager.getplugin("_cov")
        controller = getattr(cov_plugin, "cov_controller", None)
        if controller is None or hasattr(session.config, "workerinput"):
            return result
        self.figures = [found for folder in FOLDERS
                        if (found := measure(controller.cov, session.config.rootpath, folder))]
        self.enforced = _whole_suite(session.config)
        if self.enforced and self.under_floor():
            session.testsfailed += 1
        return result

    def under_floor(self) -> list[FolderCoverage]:
        return [figure for figure in self.figures if figure.under_floor]

    @pytest.hookimpl(trylast=True)  # after pytest-cov's table
    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.figures:
            return
        scope = "whole suite" if self.enforced else "these tests only: not enforced"
        terminalreporter.write_line(f"coverage by folder (branch floor {FLOOR:.0f}%, {scope}):",
                                    bold=True)
        for figure in self.figures:
            terminalreporter.write_line(figure.line())
        under = self.under_floor()
        if self.enforced and under:
            terminalreporter.write_line(
                "FAILED: branch coverage under the floor in "
                + ", ".join(f.folder for f in under),
                red=True, bold=True)


def pytest_configure(config: pytest.Config) -> None:
    if config.pluginmanager.hasplugin("_cov"):
        config.pluginmanager.register(CoverageFloors(), "coverage_floors_report")
