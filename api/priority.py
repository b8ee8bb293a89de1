"""Background work yields to the API: the priority of the threads that deliver and run plugins.

When the CPU is short, the API answering an integrator goes first; webhook deliveries,
plugin hooks and the dispatcher's housekeeping wait their turn. The threads that start
and stop a background process keep their normal priority, so a stop request is heard
and acted on promptly on a busy machine.

Each platform scopes a priority differently:

- Linux: each thread has its own niceness, and a new thread starts with the niceness of
  the thread that made it.
- Windows: each thread has its own priority, and a new thread starts at normal priority
  whoever made it; a process has a priority class that every thread's priority is
  relative to.
- macOS and the BSDs: a niceness is the whole process's.

Lowered means `BACKGROUND_NICENESS` steps below the process's own niceness (the host's,
inherited), so a host an admin started niced still comes before its background work.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading

BACKGROUND_NICENESS = 10
MOST_NICE = 19
_THREAD_PRIORITY_LOWEST = -2  # Windows: SetThreadPriority
_BELOW_NORMAL_PRIORITY_CLASS = 0x4000  # Windows: SetPriorityClass


def lower_this_thread() -> None:
    """Give the calling thread background priority (the whole process on macOS and BSD).

    Call it first thing in every thread that does background work, pool threads too
    (as their initializer): on Windows a thread never inherits it.
    """
    if sys.platform == "win32":
        import ctypes

        kernel32 = ctypes.windll.kernel32
        kernel32.SetThreadPriority(kernel32.GetCurrentThread(), _THREAD_PRIORITY_LOWEST)
        return
    # On Linux PRIO_PROCESS of a thread's own id is that thread alone; elsewhere 0 is the
    # whole process, which is what those systems have.
    who = threading.get_native_id() if sys.platform.startswith("linux") else 0
    _set_niceness(who)


def lower_this_process() -> None:
    """Give background priority to the calling process's work: the calling thread and,
    everywhere, every thread it starts from now on (on Linux a thread started before
    keeps its own, as the one that listens for a stop request should)."""
    if sys.platform == "win32":
        import ctypes

        kernel32 = ctypes.windll.kernel32
        kernel32.SetPriorityClass(kernel32.GetCurrentProcess(), _BELOW_NORMAL_PRIORITY_CLASS)
        return
    lower_this_thread()  # elsewhere a new thread inherits its maker's niceness


def background_niceness() -> int:
    """The niceness background work gets: `BACKGROUND_NICENESS` below the process's own
    (as it was before any of it was lowered)."""
    global _process_niceness
    with _lock:
        if _process_niceness is None:
            _process_niceness = os.getpriority(os.PRIO_PROCESS, os.getpid())
        return min(MOST_NICE, _process_niceness + BACKGROUND_NICENESS)


_process_niceness: int | None = None
_lock = threading.Lock()


def _set_niceness(who: int) -> None:
    # Never raises a priority (that needs privileges, and would put background work first).
    with contextlib.suppress(OSError):
        niceness = max(background_niceness(), os.getpriority(os.PRIO_PROCESS, who))
        os.setpriority(os.PRIO_PROCESS, who, niceness)
