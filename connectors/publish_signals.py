"""The kernel's own "this file is complete" signals for local drop folders (inotify).

Two events say a writer is done with a name: ``IN_MOVED_TO`` (the file was renamed in, as
atomic uploaders, WinSCP's ``.filepart`` and scripts publish) and ``IN_CLOSE_WRITE`` (the
last writer closed it). :class:`PublishSignals` remembers, per drop-folder path, the latest
such event that no later change to the name has contradicted; the scanner
(connectors/dropfolder.py) uses it to settle a renamed-in file at once and a closed file
after a short quiet period, instead of the full stat window.

Any later ``IN_MODIFY``, ``IN_ATTRIB``, ``IN_CREATE``, ``IN_DELETE`` or ``IN_MOVED_FROM`` on
the name withdraws its signal, so a copier that closes and then restores an old mtime (the
``IN_ATTRIB`` comes after the close) never looks done: it waits out the stat window. The
limit: a writer that reopens the file for every chunk, changes nothing else, and pauses
longer than the quiet period between chunks looks done after a close (the claim's re-check
catches only one that resumes within that instant); such feeds need the signals off
(``SettlePolicy.fast_settle = False``). A lost signal (queue overflow, a folder watched
late) only costs latency: the stat window still settles the file. The events are read only
when the scanner drains them; nothing here blocks, logs or keeps a name beyond the path the
scanner already holds.

Library: inotify_simple (a small, maintained ctypes wrapper over inotify_init1/add_watch/
read). watchfiles, which wakes the watcher, folds events into "changed" and does not expose
close-write; asyncinotify is asyncio-first, and the scanner runs in a plain thread.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from inotify_simple import INotify, flags

__all__ = ["Kind", "PublishSignal", "PublishSignals"]

Kind = Literal["moved-in", "closed"]

_PUBLISH = {flags.MOVED_TO: "moved-in", flags.CLOSE_WRITE: "closed"}
_WITHDRAW = flags.MODIFY | flags.ATTRIB | flags.CREATE | flags.DELETE | flags.MOVED_FROM
_MASK = (
    flags.MOVED_TO
    | flags.CLOSE_WRITE
    | _WITHDRAW
    | flags.ONLYDIR
    | flags.DONT_FOLLOW
    | flags.EXCL_UNLINK
)
_GONE = flags.IGNORED | flags.DELETE_SELF | flags.MOVE_SELF | flags.UNMOUNT


@dataclass(frozen=True)
class PublishSignal:
    """The latest uncontradicted publish event for one path, drained at ``at`` (the
    scanner's clock)."""

    kind: Kind
    at: float


class PublishSignals:
    """inotify watches on ``folders`` (not recursive, never through a symlink).

    :meth:`drain` reads every queued event without blocking and re-tries folders that could
    not be watched yet (missing, or replaced). Not thread-safe: one scanner drains it.
    """

    def __init__(self, folders: Sequence[Path]) -> None:
        self._inotify = INotify(nonblocking=True)
        self._wanted = tuple(dict.fromkeys(folders))
        self._folders: dict[int, Path] = {}
        self._signals: dict[Path, PublishSignal] = {}
        self._watch_missing()

    def drain(self, now: float) -> None:
        """Apply every queued event; signals read now are stamped ``now``."""
        try:
            events = self._inotify.read(timeout=0)
        except BlockingIOError:
            events = []
        for event in events:
            if event.mask & flags.Q_OVERFLOW:
                self._signals.clear()  # order is lost: trust nothing, the window decides
                continue
            folder = self._folders.get(event.wd)
            if folder is None:
                continue
            if event.mask & _GONE:
                self._folders.pop(event.wd, None)
                self._signals = {p: s for p, s in self._signals.items() if p.parent != folder}
                continue
            if not event.name:
                continue
            path = folder / event.name
            kind = next((k for bit, k in _PUBLISH.items() if event.mask & bit), None)
            if kind is not None:
                self._signals[path] = PublishSignal(kind, now)  # type: ignore[arg-type]
            elif event.mask & _WITHDRAW:
                self._signals.pop(path, None)
        if len(self._folders) < len(self._wanted):
            self._watch_missing()

    def get(self, path: Path) -> PublishSignal | None:
        """The standing signal for ``path``, if any."""
        return self._signals.get(path)

    def forget(self, path: Path) -> None:
        """Drop the signal for ``path`` (e.g. after it was claimed)."""
        self._signals.pop(path, None)

    def close(self) -> None:
        """Release the inotify descriptor."""
        with contextlib.suppress(OSError):
            self._inotify.close()

    def _watch_missing(self) -> None:
        watched = set(self._folders.values())
        for folder in self._wanted:
            if folder in watched:
                continue
            try:
                wd = self._inotify.add_watch(os.fspath(folder), _MASK)
            except OSError:
                continue  # not there yet (or not a directory): tried again on the next drain
            self._folders[wd] = folder
