"""Ending a child process that did not stop when asked: kill it, then wait until it is gone.

A kill always ends a process, but not at once: the killed process must still be scheduled
to run its exit (every thread of it), and on a busy machine a low-priority process waits
its turn (a niced dispatcher was measured still there 0.8 s after SIGKILL on a loaded
2-core box). A host that gave up after half a second left it behind, unreaped. Every
host that kills a child (the dispatcher's, the kiosk listener's, the plugin supervisor,
`serve --workers`) does it here, with one generous bound.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
from multiprocessing.connection import wait as wait_for_any
from multiprocessing.process import BaseProcess

log = logging.getLogger("tempclock.processes")

KILLED_WAIT_S = 5.0  # a killed process is normally gone in milliseconds; this is the worst case


def kill_and_reap(process: BaseProcess | subprocess.Popen, what: str,
                  wait: float = KILLED_WAIT_S) -> bool:
    """Kill `process` (`what` names it in the log) and wait up to `wait` s until it is gone;
    returns whether it is (`wait_until_gone`)."""
    process.kill()
    return wait_until_gone(process, what, wait)


def wait_until_gone(process: BaseProcess | subprocess.Popen, what: str,
                    wait: float = KILLED_WAIT_S) -> bool:
    """Wait up to `wait` s for a killed `process` to be gone (reaped); returns whether it is.

    When it is still there (stuck in the kernel, e.g. on a disk that does not answer)
    that is logged, since nothing more can be done to it.
    """
    if isinstance(process, subprocess.Popen):
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(wait)
        gone = process.returncode is not None
    else:
        process.join(wait)
        gone = has_ended(process)
    if not gone:
        log.error("%s (process %s) was killed but is still there after %.1f s",
                  what, process.pid, wait)
    return gone


def has_ended(process: BaseProcess) -> bool:
    """Whether a started `multiprocessing` process has ended, whoever reaped it.

    Its sentinel is ready once it has ended. Its `exitcode` alone is not enough: when
    another thread joins it too (the kiosk listener's restarter does), the one whose
    `waitpid` comes second gets no status and leaves `exitcode` None, as if still running.
    """
    return process.exitcode is not None or bool(wait_for_any([process.sentinel], 0))
