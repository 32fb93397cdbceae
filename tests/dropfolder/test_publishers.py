"""Each way an agency's tool publishes a file, in real time on a local disk with the kernel's
publish signals on: when the scanner claims it, and that the claimed bytes are the final file.

The ctime fast path is switched off (``fast_max_gap_seconds`` of 1 ns) so what settles a
file here is the inotify signal, the ``.done`` marker or the stat window, nothing else.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from connectors.dropfolder import DropFolderScanner, SettlePolicy, claim

from .conftest import AGENCIES, Tree

STABLE = 2.0  # the stat window: a claim sooner than this was settled by a signal or marker
QUIET = 0.25
GAP = 0.4  # pause between a slow writer's chunks: longer than QUIET, shorter than STABLE
CHUNKS = [bytes([65 + i]) * 4096 for i in range(6)]
FINAL = b"".join(CHUNKS)
OLD_NS = 946_684_800 * 10**9  # 2000-01-01


@dataclass
class Published:
    """Set by the publisher thread: when its last step finished (monotonic)."""

    done_at: float | None = None


def _scanner(tree: Tree) -> DropFolderScanner:
    policy = SettlePolicy(
        stable_seconds=STABLE, close_quiet_seconds=QUIET, fast_max_gap_seconds=1e-9
    )
    return DropFolderScanner(tree.agencies, AGENCIES, policy, publish_signals=True)


def _write(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _append_slowly(path: Path, restore_mtime: bool) -> None:
    """Open, append one chunk, close (a close-write each time), maybe restore an old mtime,
    pause: the way a copier that reopens per chunk writes over a slow link."""
    for chunk in CHUNKS:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, chunk)
        finally:
            os.close(fd)
        if restore_mtime:
            os.utime(path, ns=(OLD_NS, OLD_NS))
        time.sleep(GAP)


def instant_rename(drop: Path) -> None:
    temp = drop / "intake.csv.tmp"
    _write(temp, FINAL)
    os.rename(temp, drop / "intake.csv")  # same kernel tick as the write, most of the time


def close_write(drop: Path) -> None:
    _write(drop / "intake.csv", FINAL)


def filepart_then_rename(drop: Path) -> None:
    # WinSCP: upload to .filepart, set the source's timestamp, then rename to the real name.
    part = drop / "intake.csv.filepart"
    _append_slowly(part, restore_mtime=False)
    os.utime(part, ns=(OLD_NS, OLD_NS))
    os.rename(part, drop / "intake.csv")


def done_marker(drop: Path) -> None:
    # A copy that keeps the source's old mtime (its last event is IN_ATTRIB, which withdraws
    # the close-write signal), then the marker that says it is complete.
    path = drop / "intake.csv"
    _write(path, FINAL)
    os.utime(path, ns=(OLD_NS, OLD_NS))
    _write(drop / "intake.csv.done", b"")


def slow_append_restored_mtime(drop: Path) -> None:
    _append_slowly(drop / "intake.csv", restore_mtime=True)


def _run(tree: Tree, publish: Callable[[Path], None]) -> float:
    """Publish in a thread while scanning every 10 ms; claim what settles (never before the
    publisher finished). Returns the seconds from the publisher's last step to the claim."""
    scanner = _scanner(tree)
    published = Published()
    claimed_at: float | None = None

    def publisher() -> None:
        publish(tree.drop())
        published.done_at = time.monotonic()

    thread = threading.Thread(target=publisher)
    try:
        thread.start()
        give_up = time.monotonic() + 30
        while claimed_at is None and time.monotonic() < give_up:
            for candidate in scanner.scan().settled:
                assert published.done_at is not None, "claimed before the publisher finished"
                claimed = claim(candidate, tree.work)
                assert claimed is not None
                claimed_at = time.monotonic()
                assert claimed.path.read_bytes() == FINAL
            time.sleep(0.01)
        thread.join()
    finally:
        scanner.close()
    assert claimed_at is not None and published.done_at is not None
    assert tree.listing(tree.drop()) == []  # nothing left behind, the marker included
    return claimed_at - published.done_at


@pytest.mark.parametrize(
    "publish",
    [instant_rename, filepart_then_rename, done_marker],
    ids=["instant-rename", "filepart-rename", "done-marker"],
)
def test_a_published_file_is_claimed_at_once(tree: Tree, publish: Callable[[Path], None]) -> None:
    delay = _run(tree, publish)
    # "At once": one scan interval plus scheduling noise on a loaded machine, far below the
    # 2 s window the same file waits without the signal.
    assert delay < 0.5 * STABLE, f"claimed {delay:.3f} s after publishing"


def test_a_closed_file_is_claimed_after_the_quiet_period(tree: Tree) -> None:
    delay = _run(tree, close_write)
    assert QUIET - 0.02 <= delay < 0.5 * STABLE, f"claimed {delay:.3f} s after the close"


def test_a_slow_append_with_restored_mtime_waits_the_full_window(tree: Tree) -> None:
    # Each chunk ends with a close-write, then an IN_ATTRIB from the restored mtime; the
    # pauses are longer than the quiet period. Only the stat window may settle it.
    delay = _run(tree, slow_append_restored_mtime)
    assert delay >= STABLE - GAP - 0.05, f"claimed {delay:.3f} s after the last chunk"


def test_without_inotify_the_stat_window_still_settles(
    tree: Tree, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # The kernel refuses an inotify instance (EMFILE: max_user_instances reached, which a
    # test cannot cause without starving the machine): the scanner starts anyway, settles
    # by the window, and says why in the log without a name.
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr("connectors.publish_signals.INotify", refuse)
    scanner = _scanner(tree)
    instant_rename(tree.drop())
    assert scanner.scan().settled == []  # no signal: the 2 s window applies
    scanner.close()
    assert "kernel publish signals unavailable: OSError" in caplog.text
    assert "intake" not in caplog.text
