"""A `config` fixture whose SQLite store starts as a copy of one migrated once per session.

Migrating a fresh store costs ~0.5 s, copying a migrated one ~0.01 s: the mutation run
(bench/mutation.py) runs these tests once per mutant. Import the fixture into a test
module (`from migrated_store import config`) to use it there; PostgreSQL cases are
unchanged (a fresh database each, as in conftest).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import store_backends

from tempclock.api.config import Config, load_config, private_dir, private_file
from tempclock.api.store import close_store, open_store


def copy_store(template: Path, config: Config) -> None:
    """Make `config`'s SQLite file a copy of the closed store file `template`, as the store
    makes its own: the folder and the file private before a byte is written."""
    private_file(private_dir(config.data_dir) / config.sqlite_path.name)
    shutil.copyfile(template, config.sqlite_path)


@pytest.fixture(scope="session")
def migrated_data_dir(tmp_path_factory):
    data = tmp_path_factory.mktemp("migrated") / "data"
    open_store(load_config(data))
    close_store()
    (data / "tempclock.db.lock").unlink(missing_ok=True)
    return data


@pytest.fixture
def config(tmp_path, monkeypatch, backend, migrated_data_dir):
    """As conftest's `config`, with the SQLite store copied from the migrated one."""
    monkeypatch.delenv("TEMPCLOCK_DATA_DIR", raising=False)
    with store_backends.database_for(backend, monkeypatch):
        if backend == "sqlite":
            shutil.copytree(migrated_data_dir, tmp_path / "data")
        yield load_config(tmp_path / "data")
