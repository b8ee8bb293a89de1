"""`tempclock plugins new NAME`: a ready-to-install plugin package with a passing test.

The package is what the guide (`plugins/README.md`) builds by hand: a connector that
imports workers from a JSON file, a hook, a `pyproject.toml` registering the module
in the `tempclock` entry-point group, and tests on the `tempclock` fixture.
"""

from __future__ import annotations

import re
from pathlib import Path

from tempclock.plugins import PLUGIN_API_VERSION

_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")

PYPROJECT = '''\
[build-system]
requires = ["setuptools>=70"]
build-backend = "setuptools.build_meta"

[project]
name = "{package}"
version = "0.1.0"
description = "{title}: a TempClock connector"
requires-python = ">=3.11"
dependencies = ["tempclock"]

[project.optional-dependencies]
test = ["pytest>=8"]

[project.entry-points.tempclock]
{entry_point} = "{module}"

[tool.setuptools]
py-modules = ["{module}"]

[tool.pytest.ini_options]
testpaths = ["tests"]
'''

MODULE = '''\
"""{title}: imports workers from the JSON file {title} exports, and notes new starters.

The file is a list of people: [{{"id": "H1", "given": "Ann", "family": "Nowak",
"site": "Leeds DC"}}, ...]. See TempClock's plugin guide (tempclock/plugins/README.md).
"""

import json
from pathlib import Path

from tempclock.plugins import Connector, Setting, hookimpl

TEMPCLOCK_PLUGIN_API = ">={major},<{next_major}"  # the plugin API versions this was written for


class {cls}(Connector):
    id = "{connector_id}"
    name = "{title}"
    kind = "ats"
    version = "0.1.0"
    description = "Imports workers from {title}'s JSON export."
    capabilities = frozenset({{"import_workers"}})
    settings = (
        Setting("file", "Export file", type="path", required=True),
        Setting("site", "Default site", type="text", default=""),
    )

    def run(self, context):
        path = Path(context.settings["file"])
        try:
            people = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ValueError(f"Cannot read {{path}}: {{error}}") from None
        sites = {{site["name"]: site["id"] for site in context.locations()}}
        rows = [{{"employee_ref": person["id"], "first_name": person["given"],
                 "last_name": person["family"],
                 "location_id": sites.get(person.get("site") or context.settings["site"])}}
                for person in people]
        for line, (outcome, error) in enumerate(context.upsert_workers(rows), start=1):
            if error:
                context.row_error(line, error)
            else:
                context.count(outcome)
        context.progress(len(rows), len(rows))


@hookimpl
def register_connectors(register):
    register({cls}())


@hookimpl
def worker_created(event, context):
    context.log(f"new starter {{event.data['first_name']}} {{event.data['last_name']}}")
'''

TEST = '''\
"""{title}'s tests, on TempClock's `tempclock` fixture (a throwaway store and account)."""

import json
import logging

from {module} import {cls}


def test_people_in_the_export_become_workers(tempclock, tmp_path):
    site = tempclock.add_location("Leeds DC")
    export = tmp_path / "people.json"
    export.write_text(json.dumps([
        {{"id": "H1", "given": "Ann", "family": "Nowak", "site": "Leeds DC"}},
        {{"id": "H2", "given": "Bob", "family": "Smith"}},
    ]))
    run = tempclock.run({cls}(), {{"file": str(export)}})
    assert run.status == "succeeded"
    assert run.counts == {{"created": 2}}
    placed = {{w["employee_ref"]: w["location_id"] for w in tempclock.workers()}}
    assert placed == {{"H1": site["id"], "H2": None}}


def test_an_unreadable_export_fails_the_run_with_a_reason(tempclock, tmp_path):
    run = tempclock.run({cls}(), {{"file": str(tmp_path / "absent.json")}})
    assert run.status == "failed"
    assert "Cannot read" in run.message


def test_new_starters_are_noted_in_the_log(tempclock, caplog):
    import {module}

    tempclock.use({module})
    tempclock.add_worker("Ann", "Nowak")
    with caplog.at_level(logging.INFO, logger="tempclock.connectors"):
        tempclock.dispatch()
    assert any("new starter Ann Nowak" in message for message in caplog.messages)
'''

README = '''\
# {package}

A TempClock connector: imports workers from {title}'s JSON export.

```sh
pip install -e ".[test]"     # into the environment TempClock is installed in
pytest                       # runs on a throwaway TempClock: no data of yours is touched
tempclock plugins list       # {entry_point} is there, with its connector {connector_id}
tempclock connectors run {connector_id} --account 1 --set file=people.json --dry-run
```
'''


def check_name(name: str) -> str:
    """NAME as given to `plugins new`, or `ValueError` saying what a name may be."""
    bare = name.strip().removeprefix("tempclock-")
    if not _NAME.fullmatch(bare) or not 2 <= len(bare) <= 50:
        raise ValueError(f"Plugin name {name!r}: use 2 to 50 lowercase letters, digits and "
                         "single hyphens, starting with a letter (e.g. acme-ats)")
    return bare


def write_plugin(name: str, folder: Path) -> list[Path]:
    """Write the package for plugin NAME into `folder` (which must not exist); returns the files."""
    bare = check_name(name)
    if folder.exists():
        raise ValueError(f"{folder} already exists: choose another name or folder")
    major = int(PLUGIN_API_VERSION.split(".")[0])
    words = bare.replace("-", "_")
    values = {
        "package": f"tempclock-{bare}",
        "module": f"tempclock_{words}",
        "entry_point": words,
        "connector_id": bare,
        "cls": "".join(part.capitalize() for part in bare.split("-")),
        "title": " ".join(part.upper() if len(part) <= 3 else part.capitalize()
                          for part in bare.split("-")),
        "major": major,
        "next_major": major + 1,
    }
    files = {
        folder / "pyproject.toml": PYPROJECT,
        folder / f"{values['module']}.py": MODULE,
        folder / "tests" / f"test_{words}.py": TEST,
        folder / "README.md": README,
    }
    for path, template in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(**values), encoding="utf-8")
    return list(files)
