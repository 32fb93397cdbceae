"""A slow writer in real time (scaled down): never claimed early, claimed bytes = final bytes."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from connectors.dropfolder import ClaimedFile, claim

from .conftest import Tree

STABLE = 0.6
GAP = 0.15
CHUNKS = [bytes([65 + i]) * 4096 for i in range(10)]
FINAL = b"".join(CHUNKS)
OLD_NS = 946_684_800 * 10**9


def _write_slowly(path: Path, variant: str, finished: threading.Event) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        if variant == "preallocated":
            os.ftruncate(fd, len(FINAL))
        offset = 0
        for chunk in CHUNKS:
            os.pwrite(fd, chunk, offset)
            offset += len(chunk)
            if variant != "plain":
                os.utime(fd, ns=(OLD_NS, OLD_NS))
            time.sleep(GAP)
    finally:
        os.close(fd)
        finished.set()


@pytest.mark.parametrize("variant", ["plain", "old-mtime", "preallocated"])
def test_slow_writer_is_claimed_only_when_done(tree: Tree, variant: str) -> None:
    # "old-mtime" restores an old mtime after every chunk (a Windows copy); "preallocated"
    # also sets the final length first, so size and mtime never move at all.
    scanner = tree.scanner(stable_seconds=STABLE)
    path = tree.drop() / "slow.csv"
    finished = threading.Event()
    writer = threading.Thread(target=_write_slowly, args=(path, variant, finished))
    writer.start()
    claimed: ClaimedFile | None = None
    give_up = time.monotonic() + 20
    try:
        while claimed is None and time.monotonic() < give_up:
            for candidate in scanner.scan().settled:
                assert finished.is_set(), "claimed while the writer was still writing"
                claimed = claim(candidate, tree.work)
            time.sleep(0.03)
    finally:
        writer.join()
    assert claimed is not None
    assert claimed.path.read_bytes() == FINAL
