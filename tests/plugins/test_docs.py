"""The plugin guide keeps up with the code: a test fails when a hook or context method is
undocumented, or a hook has no test (as datasette does for its hooks), and the guide's
tutorial is run as written: its files built, installed, listed, run and tested."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from tempclock.plugins import hookspecs
from tempclock.plugins.connectors import ConnectorContext

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "plugins" / "README.md").read_text(encoding="utf-8")
HOOK_TESTS = (Path(__file__).parent / "test_hooks.py").read_text(encoding="utf-8")

HOOKS = sorted(name for name, fn in vars(hookspecs).items()
               if callable(fn) and hasattr(fn, "tempclock_spec"))
CONTEXT_METHODS = sorted(name for name, member in vars(ConnectorContext).items()
                         if inspect.isfunction(member) and not name.startswith("_"))


def test_the_hook_list_is_what_the_specs_define():
    assert set(hookspecs.EVENT_HOOKS) | {"register_connectors"} == set(HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_section_with_its_signature_and_an_example(hook):
    params = ", ".join(inspect.signature(getattr(hookspecs, hook)).parameters)
    heading = f"### {hook}({params})"
    assert heading in GUIDE, f"plugins/README.md lacks the heading {heading!r}"
    section = GUIDE.split(heading, 1)[1].split("\n### ", 1)[0]
    assert "```python" in section and f"def {hook}(" in section, f"{hook} has no example"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_test(hook):
    assert re.search(rf"^def test_hook_{hook}\(", HOOK_TESTS, re.MULTILINE), (
        f"tests/plugins/test_hooks.py has no test_hook_{hook}")


@pytest.mark.parametrize("method", CONTEXT_METHODS)
def test_every_context_method_is_documented(method):
    assert f"context.{method}(" in GUIDE, f"plugins/README.md does not describe {method}"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hookspec_has_a_docstring(hook):
    assert (getattr(hookspecs, hook).__doc__ or "").strip()


# --- the guide's tutorial, run as written --------------------------------------------

BLOCK = re.compile(r"<!-- guide: (file (?P<path>\S+)|run) -->\n```\w*\n(?P<body>.*?)\n```",
                   re.DOTALL)
TEMPCLOCK_SCRIPT = Path(sys.executable).with_name("tempclock")
# `pip install -e DIR` in the guide installs into a folder of the test's own, so the suite's
# environment is left as it was (the rest of the guide's commands run exactly as written).
PIP_SHIM = """\
pip() {
  if [ "$1" != install ] || [ "$2" != -e ]; then echo "guide test: only pip install -e" >&2; return 2; fi
  "$GUIDE_PYTHON" -m pip install --quiet --no-deps --no-index --no-build-isolation \\
      --target "$GUIDE_SITE" "./$3"
}
"""


def guide_blocks() -> list[re.Match]:
    return list(BLOCK.finditer(GUIDE))


def test_the_guide_marks_its_tutorial_files_and_commands():
    paths = [m["path"] for m in guide_blocks() if m["path"]]
    assert paths == ["people.json", "tempclock-hello-ats/pyproject.toml",
                     "tempclock-hello-ats/hello_ats.py",
                     "tempclock-hello-ats/tests/test_hello_ats.py"]
    tree = GUIDE.split("tempclock-hello-ats/\n", 1)[1].split("```", 1)[0]
    listed = {line.split("── ", 1)[1].strip() for line in tree.splitlines() if "── " in line}
    assert {f"tempclock-hello-ats/{name}" for name in listed} <= set(paths), (
        "the folder tree of section 1 lists a file the guide never writes")


@pytest.mark.skipif(os.name == "nt", reason="the guide's commands are POSIX shell")
def test_the_guides_tutorial_builds_installs_lists_runs_and_tests_its_package(tmp_path):
    script = [PIP_SHIM, "set -euo pipefail"]
    for block in guide_blocks():
        if block["path"]:
            target = tmp_path / block["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block["body"] + "\n", encoding="utf-8")
        else:
            script.append(block["body"])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPCLOCK_", "PYTHON"))}
    env.update(PATH=f"{TEMPCLOCK_SCRIPT.parent}{os.pathsep}{env['PATH']}",
               GUIDE_PYTHON=sys.executable, GUIDE_SITE=str(tmp_path / "site"),
               PYTHONPATH=str(tmp_path / "site"))
    result = subprocess.run(["bash", "-c", "\n".join(script)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600, check=False)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert (tmp_path / "tempclock-sandbox" / "tempclock.db").exists()  # the sandbox, not yours
    listed = next(line for line in out.splitlines() if line.startswith("hello_ats "))
    assert "tempclock-hello-ats" in listed and "clock_out" in listed and "hello-ats" in listed
    assert "Hello ATS: succeeded (dry run): 3 created" in out
    assert "Hello ATS: succeeded: 3 created" in out
    assert "2 passed" in out


def _slug(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_in_the_guide_leads_somewhere():
    anchors = {_slug(h) for h in re.findall(r"^#+ (.+)$", GUIDE, re.MULTILINE)}
    for target in re.findall(r"\]\(([^)]+)\)", GUIDE):
        if target.startswith("#"):
            assert target[1:] in anchors, f"no heading for the link {target}"
        else:
            assert target.startswith("https://") or (ROOT / "plugins" / target).exists(), target


def test_every_command_the_guide_shows_exists():
    from tempclock.api.cli import cli

    commands = re.findall(r"^\s*(?:`)?tempclock ((?:[a-z][a-z-]* ?)+)", GUIDE, re.MULTILINE)
    commands += re.findall(r"`tempclock ((?:[a-z][a-z-]* ?)+)", GUIDE)
    assert len(commands) > 5
    for words in commands:
        group = cli
        for word in words.split():
            if not isinstance(group, click.Group):
                break
            found = group.get_command(click.Context(group), word)
            assert found is not None, f"the guide shows `tempclock {words.strip()}`: no {word!r}"
            group = found


def test_the_guide_names_only_first_party_files_that_exist():
    for name in re.findall(r"`([a-z_]+)`(?= \(| shows| does)", GUIDE):
        if name in {"ats_csv", "payroll_csv", "crm_push"}:
            assert (ROOT / "plugins" / name).is_dir()
    for path in re.findall(r"`((?:plugins|tests)/[\w/.]+)`", GUIDE):
        assert (ROOT / path).exists(), f"the guide names {path}, which does not exist"
