"""The settle rule on a hand-moved clock: the scanner's own observations decide, not mtimes."""

from __future__ import annotations

import os
import time

import pytest

from connectors.dropfolder import SettlePolicy, claim
from hmis_handoff.errors import ConfigError

from .conftest import FakeClock, Tree

OLD_NS = 946_684_800 * 10**9  # 2000-01-01: a copy that kept its original mtime


def test_file_settles_only_after_the_window_since_first_seen(tree: Tree, clock: FakeClock) -> None:
    scanner = tree.scanner(clock)
    tree.put("intake.csv")
    first = scanner.scan()
    assert (first.settled, first.pending, first.next_due) == ([], 1, 2.0)
    clock.advance(1.9)
    assert scanner.scan().settled == []
    clock.advance(0.1)
    [candidate] = scanner.scan().settled
    assert candidate.path == tree.drop() / "intake.csv"
    assert candidate.first_seen == 1000.0
    assert candidate.agency_id == "agency-a"


def test_any_change_restarts_the_window(tree: Tree, clock: FakeClock) -> None:
    scanner = tree.scanner(clock)
    path = tree.put("intake.csv", b"a")
    scanner.scan()
    clock.advance(1.5)
    with path.open("ab") as handle:
        handle.write(b"b")
    assert scanner.scan().pending == 1
    clock.advance(1.9)
    result = scanner.scan()
    assert result.settled == []
    assert result.next_due == pytest.approx(0.1)
    clock.advance(0.1)
    [candidate] = scanner.scan().settled
    assert (candidate.size, candidate.first_seen) == (2, 1000.0)


def test_an_old_mtime_does_not_make_a_new_file_settled(tree: Tree, clock: FakeClock) -> None:
    scanner = tree.scanner(clock)
    path = tree.put("copied.csv")
    os.utime(path, ns=(OLD_NS, OLD_NS))
    assert scanner.scan().settled == []
    clock.advance(2.0)
    assert len(scanner.scan().settled) == 1


def test_same_size_and_restored_mtime_still_count_as_a_change(tree: Tree, clock: FakeClock) -> None:
    # A tool that sets the final length first and puts the old mtime back after each chunk:
    # only ctime (which nobody can set back) shows that the bytes are still moving.
    scanner = tree.scanner(clock)
    path = tree.put("prealloc.csv", b"\0" * 8)
    os.utime(path, ns=(OLD_NS, OLD_NS))
    scanner.scan()
    clock.advance(1.5)
    time.sleep(0.02)  # let the coarse kernel clock behind ctime tick
    with path.open("r+b") as handle:
        handle.write(b"data")
    os.utime(path, ns=(OLD_NS, OLD_NS))
    clock.advance(0.5)
    assert scanner.scan().settled == []


def test_temp_and_lock_names_are_never_candidates(tree: Tree, clock: FakeClock) -> None:
    scanner = tree.scanner(clock)
    names = [
        "~$intake.xlsx",
        ".~lock.intake.xlsx#",
        "intake.csv.filepart",
        "intake.csv.part",
        "intake.csv.partial",
        "intake.tmp",
        "intake.csv.crdownload",
        "._intake.csv",
        ".hidden.csv",
        "Thumbs.db",
        "THUMBS.DB",
        "desktop.ini",
        ".DS_Store",
        "A1B2C3D4",  # Excel's extension-less temp save
        "0f9e8d7c",
    ]
    for name in names:
        tree.put(name)
    scanner.scan()
    clock.advance(5)
    result = scanner.scan()
    assert (result.settled, result.pending, result.refused) == ([], 0, [])
    assert result.ignored == len(names)
    os.rename(tree.drop() / "intake.csv.filepart", tree.drop() / "intake.csv")
    assert scanner.scan().pending == 1  # the renamed file settles like any other
    clock.advance(2)
    assert [c.path.name for c in scanner.scan().settled] == ["intake.csv"]


def test_suffixes_match_whatever_the_case(tree: Tree, clock: FakeClock) -> None:
    scanner = tree.scanner(clock, stable_seconds=0)
    tree.put("INTAKE.CSV")
    tree.put("Book.Xlsx")
    assert sorted(c.path.name for c in scanner.scan().settled) == ["Book.Xlsx", "INTAKE.CSV"]


def test_done_marker_settles_at_once_and_goes_with_the_claim(tree: Tree, clock: FakeClock) -> None:
    scanner = tree.scanner(clock)
    tree.put("intake.csv")
    tree.put("intake.csv.DONE", b"")
    [candidate] = scanner.scan().settled
    assert candidate.done_marker == tree.drop() / "intake.csv.DONE"
    claimed = claim(candidate, tree.work)
    assert claimed is not None
    assert tree.listing(tree.drop()) == []


def test_marker_older_than_the_file_is_not_trusted(tree: Tree, clock: FakeClock) -> None:
    # An orphan marker (a crash after the claim) or one written before the data must not
    # let a file that is still being written through early.
    scanner = tree.scanner(clock)
    tree.put("intake.csv.done", b"")
    time.sleep(0.05)
    tree.put("intake.csv")
    result = scanner.scan()
    assert (result.settled, result.pending) == ([], 1)
    clock.advance(2)
    [candidate] = scanner.scan().settled
    assert candidate.done_marker is None


def test_marker_alone_is_nothing(tree: Tree, clock: FakeClock) -> None:
    tree.put("intake.csv.done", b"")
    result = tree.scanner(clock).scan()
    assert (result.settled, result.pending, result.refused, result.ignored) == ([], 0, [], 0)


def test_empty_file_waits_for_the_window_even_with_a_marker(tree: Tree, clock: FakeClock) -> None:
    scanner = tree.scanner(clock)
    tree.put("empty.csv", b"")
    tree.put("empty.csv.done", b"")
    assert scanner.scan().settled == []
    clock.advance(2)
    [candidate] = scanner.scan().settled
    assert candidate.size == 0


def test_settled_file_is_reported_until_claimed(tree: Tree, clock: FakeClock) -> None:
    scanner = tree.scanner(clock, stable_seconds=0)
    tree.put("intake.csv")
    assert len(scanner.scan().settled) == 1
    assert len(scanner.scan().settled) == 1


def test_same_name_dropped_again_is_a_new_file(tree: Tree, clock: FakeClock) -> None:
    scanner = tree.scanner(clock)
    contents = [f"id\n{i}\n".encode() for i in range(5)]
    claims = []
    for data in contents:
        tree.put("intake.csv", data)
        assert scanner.scan().settled == []  # a new object under a known name waits again
        clock.advance(2)
        [candidate] = scanner.scan().settled
        claimed = claim(candidate, tree.work)
        assert claimed is not None
        claims.append(claimed)
    assert len({c.claim_id for c in claims}) == 5
    assert [c.path.read_bytes() for c in claims] == contents


def test_forget_makes_a_path_new_again(tree: Tree, clock: FakeClock) -> None:
    scanner = tree.scanner(clock)
    path = tree.put("intake.csv")
    scanner.scan()
    clock.advance(2)
    scanner.forget(path)
    assert scanner.scan().settled == []


def test_folders_that_do_not_exist_yet_are_skipped(tree: Tree, clock: FakeClock) -> None:
    scanner = tree.scanner(clock, stable_seconds=0)
    os.rmdir(tree.drop("agency-b"))
    tree.put("intake.csv")
    assert len(scanner.scan().settled) == 1


@pytest.mark.parametrize(
    "policy",
    [
        {"stable_seconds": -1},
        {"done_marker_suffix": ".csv"},
        {"done_marker_suffix": "done"},
        {"allowed_suffixes": ("csv",)},
        {"max_name_bytes": 0},
    ],
)
def test_bad_policy_is_a_config_error(policy: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        SettlePolicy(**policy)  # type: ignore[arg-type]


def test_unsafe_agency_id_is_a_config_error(tree: Tree) -> None:
    from connectors.dropfolder import DropFolderScanner

    with pytest.raises(ConfigError):
        DropFolderScanner(tree.agencies, ["../etc"], SettlePolicy())
