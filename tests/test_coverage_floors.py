"""The coverage floor of issue 15 holds each folder's branch figure, not the combined one."""

from __future__ import annotations

from coverage_floors import FLOOR, FolderCoverage


def test_a_folder_whose_branches_are_under_the_floor_fails_though_its_combined_figure_passes():
    # api/http in the CI run of 2026-12-03: 98.3% combined, branches 192/204 = 94.1%.
    http = FolderCoverage("api/http", statements=1233, covered_statements=1220, branches=204,
                          covered_branches=192)
    assert http.percent > FLOOR > http.branch_percent
    assert http.under_floor
    assert "branches 192/204 =  94.1%  branches UNDER 95%" in http.line()


def test_a_folder_with_its_branches_at_the_floor_passes():
    cli = FolderCoverage("api/cli.py", statements=400, covered_statements=390, branches=100,
                         covered_branches=95)
    assert not cli.under_floor
    assert cli.line().endswith("ok")


def test_a_folder_whose_combined_figure_is_under_the_floor_still_fails():
    plugins = FolderCoverage("plugins", statements=400, covered_statements=360, branches=100,
                             covered_branches=96)
    assert plugins.under_floor
    assert plugins.line().endswith(f"UNDER {FLOOR:.0f}%")
