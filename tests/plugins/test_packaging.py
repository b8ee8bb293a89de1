"""The product installs under one `tempclock` namespace (issue 12): the repository's api/,
plugins/ and resources/ folders become tempclock.api, tempclock.plugins, tempclock.resources."""

import re
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {"api": "tempclock.api", "plugins": "tempclock.plugins",
           "resources": "tempclock.resources", "tempclock_desktop": "tempclock_desktop"}


def _listed_packages() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return set(config["tool"]["setuptools"]["packages"])


def test_every_package_folder_is_installed_under_its_namespaced_name():
    folders = set()
    for folder, name in FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder).parts
            folders.add(".".join((name, *relative)))
    assert folders == _listed_packages()


def test_no_code_imports_the_repository_folders_by_their_bare_names():
    tracked = subprocess.run(["git", "ls-files", "*.py", "*.md"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    bare = re.compile(r"^\s*(from|import) (api|plugins|resources)\b", re.M)
    offenders = [name for name in tracked if name != "tests/plugins/test_packaging.py"
                 and bare.search((ROOT / name).read_text(encoding="utf-8"))]
    assert offenders == [], "import tempclock.api / tempclock.plugins, not the bare folder"
