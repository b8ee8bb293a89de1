"""The store lock loads portalocker without its optional Redis lock (a tenth of a second
of every desktop start-up), and locking still works: two processes share the store, a
restore is refused while another holds it, and redis itself still imports afterwards."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
import sys
from pathlib import Path
from tempclock.api.store import lock
assert "redis" not in sys.modules, "opening the store imported the redis client"
database = Path(sys.argv[1])
lock.hold(database)
import redis
assert redis.Redis is not None
import portalocker
assert portalocker.lock is not None
print("held")
sys.stdout.flush()
sys.stdin.readline()
"""


def test_the_store_lock_does_not_load_redis_and_still_locks(tmp_path):
    database = tmp_path / "tempclock.db"
    holder = subprocess.Popen([sys.executable, "-c", SCRIPT, str(database)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        from tempclock.api.store import lock

        try:
            with lock.exclusive(database):
                raise AssertionError("a restore was allowed while another process held the store")
        except lock.StoreInUse:
            pass
    finally:
        holder.communicate("\n", timeout=30)
    assert holder.returncode == 0
