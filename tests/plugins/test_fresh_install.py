"""The product as a plugin author gets it: a wheel built from this repository, installed
(not editable) into a fresh virtual environment, then `tempclock plugins new acme-ats`,
`pip install -e acme-ats`, `pytest acme-ats` and `tempclock plugins list`.

To stay fast and offline, the product is installed with `--no-deps` and its
dependencies (pip and setuptools too) are borrowed from the environment running the
suite: a `.pth` file puts
that environment's site-packages *after* the fresh one's, so the product imported is
the wheel's (its own files, its own entry points), never the repository's.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOT_SHIPPED = shutil.ignore_patterns(".git", ".venv*", "venv", "build", "dist", "*.egg-info",
                                     "__pycache__", ".pytest_cache", ".ruff_cache", "tests",
                                     "bench", "*.db")
BIN = "Scripts" if os.name == "nt" else "bin"


def run(*args, cwd=None, env=None, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


@pytest.fixture(scope="session")
def product_wheel(tmp_path_factory) -> Path:
    """The product's wheel, built once per session from a clean copy of the repository."""
    source = tmp_path_factory.mktemp("source") / "tempclock"
    shutil.copytree(ROOT, source, ignore=NOT_SHIPPED)
    out = tmp_path_factory.mktemp("wheel")
    built = run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index",
                "--no-build-isolation", "--wheel-dir", out, source)
    assert built.returncode == 0, built.stderr
    (wheel,) = out.glob("tempclock-*.whl")
    return wheel


@pytest.fixture(scope="session")
def fresh_env(tmp_path_factory, product_wheel) -> dict[str, Path | dict[str, str]]:
    """A new virtual environment with only the product's wheel installed in it."""
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    made = run(sys.executable, "-m", "venv", "--without-pip", venv)  # pip is borrowed too
    assert made.returncode == 0, made.stderr
    python = venv / BIN / ("python.exe" if os.name == "nt" else "python")
    own_site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
                    .stdout.strip())
    (own_site / "zz_borrowed_dependencies.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TEMPCLOCK_", "PYTHON", "VIRTUAL_ENV", "PIP_"))}
    env["PATH"] = f"{venv / BIN}{os.pathsep}{env.get('PATH', '')}"
    env["TEMPCLOCK_DATA_DIR"] = str(venv.parent / "data")
    installed = run(python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    product_wheel, env=env)
    assert installed.returncode == 0, installed.stderr
    return {"venv": venv, "python": python, "tempclock": venv / BIN / "tempclock", "env": env,
            "work": venv.parent}


def test_the_wheel_installs_only_tempclock_and_carries_its_resources_and_migrations(
        product_wheel):
    names = zipfile.ZipFile(product_wheel).namelist()
    top = {name.split("/", 1)[0] for name in names if not name.split("/", 1)[0].endswith(
        (".dist-info", ".data"))}
    assert top == {"tempclock", "tempclock_desktop"}
    assert "tempclock/resources/style.qss" in names
    assert "tempclock/resources/icons/logo.svg" in names
    assert len([n for n in names if n.startswith("tempclock/resources/icons/")]) >= 20
    assert "tempclock/api/store/migrations/0001_initial.py" in names
    assert "tempclock/plugins/README.md" in names  # the guide the scaffold points to
    assert "tempclock/plugins/testing.py" in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(product_wheel).read(entry_points).decode()
    assert "[pytest11]" in text and "tempclock.plugins.testing" in text


def test_from_a_fresh_venv_a_new_plugin_installs_passes_its_tests_and_is_listed(fresh_env):
    python, tempclock, env, work = (fresh_env["python"], fresh_env["tempclock"],
                                    fresh_env["env"], fresh_env["work"])
    where = run(python, "-c", "import tempclock.api, tempclock.resources as r, pathlib; "
                "print(tempclock.api.__file__); "
                "print((pathlib.Path(r.__file__).parent / 'style.qss').is_file())",
                cwd=work, env=env)
    product_file, has_style = where.stdout.split()
    assert Path(product_file).is_relative_to(fresh_env["venv"]), "the repository was imported"
    assert has_style == "True"

    made = run(tempclock, "plugins", "new", "acme-ats", cwd=work, env=env)
    assert made.returncode == 0, made.stderr
    installed = run(python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--no-build-isolation", "-e", "acme-ats", cwd=work, env=env)
    assert installed.returncode == 0, installed.stderr
    tested = run(python, "-m", "pytest", "acme-ats", "-q", "-p", "no:cacheprovider",
                 cwd=work, env=env)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "3 passed" in tested.stdout

    listed = run(tempclock, "plugins", "list", "--json", cwd=work, env=env)
    assert listed.returncode == 0, listed.stderr
    by_name = {p["name"]: p for p in json.loads(listed.stdout)["plugins"]}
    acme = by_name["acme_ats"]
    assert (acme["package"], acme["version"]) == ("tempclock-acme-ats", "0.1.0")
    assert acme["connectors"] == ["acme-ats"] and acme["hooks"] == ["worker_created"]
    assert acme["problems"] == []
    assert by_name["ats_csv"]["package"] == "tempclock"


@pytest.mark.parametrize("folder", ["api", "plugins", "resources"])
def test_the_repositorys_folders_are_not_importable_top_level_where_only_the_product_is(
        fresh_env, folder):
    result = run(fresh_env["python"], "-c", f"import {folder}", cwd=fresh_env["work"],
                 env=fresh_env["env"])
    assert result.returncode != 0
    assert f"No module named '{folder}'" in result.stderr
