"""One-shot sweeps on a local disk: a file whose ctime is already older than the window
settles on first sight; a fresh one, or one changed since, still waits (issue 12)."""

from __future__ import annotations

import os
import time

from .conftest import FakeClock, Tree

OLD_NS = 946_684_800 * 10**9  # 2000-01-01: an mtime a copier kept; ctime cannot be set back


def test_a_file_left_longer_than_the_window_settles_on_the_first_scan(
    tree: Tree, clock: FakeClock
) -> None:
    tree.put("intake.csv")
    time.sleep(0.35)
    trusting = tree.scanner(clock, stable_seconds=0.3, trust_ctime_age=True)
    [candidate] = trusting.scan().settled
    assert candidate.path.name == "intake.csv"
    # The same file, same moment, under the observation rule: a second look is needed.
    assert tree.scanner(clock, stable_seconds=0.3).scan().settled == []


def test_a_fresh_or_restamped_file_still_waits(tree: Tree, clock: FakeClock) -> None:
    path = tree.put("intake.csv")
    time.sleep(0.35)
    os.utime(path, ns=(OLD_NS, OLD_NS))  # an old mtime, but the ctime just moved
    scanner = tree.scanner(clock, stable_seconds=0.3, trust_ctime_age=True)
    first = scanner.scan()
    assert (first.settled, first.pending) == ([], 1)
    tree.put("fresh.csv")
    assert scanner.scan().settled == []
