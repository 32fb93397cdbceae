"""Tie helper processes (Prefect's temporary server, ``handoff up``'s server) to our life.

A ``handoff process`` killed with SIGKILL runs no ``atexit`` hook, so the temporary Prefect
server it started kept running, holding a port and Prefect's database. :func:`start_lifeline`
spawns a small watchdog (``python -m hmis_handoff.lifeline PID``) in its own session. It
holds the read end of a pipe whose write end only the watched process has (not inherited by
its children, PEP 446), and every half second it records the watched process's descendants
from ``/proc`` (pid and start time). When the pipe reaches end-of-file, the watched process
has exited, whatever the reason; the watchdog then sends SIGTERM to every recorded
descendant still alive with the same start time (so a reused pid is never hit), SIGKILL
to those left after a grace period, and exits. After a clean exit there is nothing left
to end. Linux only (``/proc``); elsewhere :func:`start_lifeline` does nothing.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["GRACE_SECONDS", "POLL_SECONDS", "start_lifeline", "watch"]

POLL_SECONDS = 0.5
GRACE_SECONDS = 5.0
_PROC = Path("/proc")


def start_lifeline() -> None:
    """Start the watchdog for this process (see the module docstring). Never raises."""
    if not _PROC.is_dir():
        return
    read_end, write_end = os.pipe()  # both non-inheritable; write_end stays open until we die
    try:
        subprocess.Popen(
            [sys.executable, "-m", "hmis_handoff.lifeline", str(os.getpid())],
            stdin=read_end,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
    except OSError:
        os.close(write_end)
    finally:
        os.close(read_end)
    _KEEP.append(write_end)


_KEEP: list[int] = []  # the pipe's write end, referenced so nobody closes it by accident


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time in clock ticks) of ``pid``, or None if it is gone."""
    try:
        raw = (_PROC / str(pid) / "stat").read_bytes()
    except OSError:
        return None
    fields = raw[raw.rfind(b")") + 2 :].split()
    return int(fields[1]), int(fields[19])


def _descendants(root: int) -> dict[int, int]:
    """pid -> start time of every live descendant of ``root``."""
    children: dict[int, list[tuple[int, int]]] = {}
    for entry in _PROC.iterdir():
        if entry.name.isdigit():
            info = _stat(int(entry.name))
            if info is not None:
                children.setdefault(info[0], []).append((int(entry.name), info[1]))
    found: dict[int, int] = {}
    stack = [root]
    while stack:
        for pid, started in children.get(stack.pop(), []):
            if pid not in found:
                found[pid] = started
                stack.append(pid)
    return found


def _alive(recorded: dict[int, int]) -> list[int]:
    return [pid for pid, started in recorded.items() if (_stat(pid) or (0, -1))[1] == started]


def _signal(pids: list[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


def watch(parent: int) -> None:
    """Record ``parent``'s descendants until stdin closes, then end those still alive."""
    recorded: dict[int, int] = {}
    while True:
        ready, _, _ = select.select([sys.stdin.fileno()], [], [], POLL_SECONDS)
        if ready and not os.read(sys.stdin.fileno(), 4096):
            break
        current = _descendants(parent)
        current.pop(os.getpid(), None)  # the watchdog is a child of the parent too
        recorded = {pid: t for pid, t in recorded.items() if _stat(pid) is not None}
        recorded.update(current)
    _signal(_alive(recorded), signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    while _alive(recorded) and time.monotonic() < deadline:
        time.sleep(0.1)
    _signal(_alive(recorded), signal.SIGKILL)


if __name__ == "__main__":
    watch(int(sys.argv[1]))
