"""Hostile objects and names: never followed, never opened, refused once, others keep flowing."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import stat
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.dropfolder import (
    RULE_BAD_NAME,
    RULE_NOT_REGULAR,
    DropFolderScanner,
    Refusal,
    ScanResult,
    SettlePolicy,
    claim,
    quarantine_refusal,
)
from hmis_handoff.workarea import name_fingerprint

from .conftest import AGENCIES, Tree

T = TypeVar("T")


def in_thread(action: Callable[[], T], timeout: float = 10.0) -> T:
    """Run ``action`` in a thread; fail (instead of hanging) if it blocks, e.g. on a FIFO."""
    box: list[T] = []
    worker = threading.Thread(target=lambda: box.append(action()), daemon=True)
    worker.start()
    worker.join(timeout)
    assert not worker.is_alive(), "blocked (opened a FIFO?)"
    assert box, "raised in the worker thread"
    return box[0]


def settle(tree: Tree, scanner: DropFolderScanner) -> ScanResult:
    return in_thread(scanner.scan)


def by_name(refusals: list[Refusal]) -> dict[str, Refusal]:
    return {r.path.name: r for r in refusals}


@pytest.fixture
def flowing(tree: Tree) -> Iterator[Callable[[ScanResult], None]]:
    """A good file beside the hostile ones; assert it is still settled and claimable."""
    tree.put("good.csv", b"id\n1\n")

    def check(result: ScanResult) -> None:
        [candidate] = [c for c in result.settled if c.path.name == "good.csv"]
        claimed = claim(candidate, tree.work)
        assert claimed is not None
        assert claimed.path.read_bytes() == b"id\n1\n"

    yield check


def test_symlinks_are_refused_and_quarantined_as_links(
    tree: Tree, flowing: Callable[[ScanResult], None]
) -> None:
    other = tree.put("theirs.csv", b"other agency", agency=AGENCIES[1])
    drop = tree.drop()
    os.symlink(other, drop / "other.csv")
    os.symlink("/etc/passwd", drop / "passwd.csv")
    os.symlink("/nonexistent/target.csv", drop / "dangling.csv")
    scanner = tree.scanner(stable_seconds=0)
    result = settle(tree, scanner)
    refused = by_name(result.refused)
    assert set(refused) == {"other.csv", "passwd.csv", "dangling.csv"}
    assert {(r.reason_rule_id, r.kind) for r in refused.values()} == {(RULE_NOT_REGULAR, "symlink")}
    assert settle(tree, scanner).refused == []  # reported once
    flowing(result)
    for refusal in refused.values():
        moved = quarantine_refusal(refusal, tree.quarantine)
        assert moved is not None and moved.is_symlink()
    assert tree.listing(drop) == []
    assert other.read_bytes() == b"other agency"
    assert Path("/etc/passwd").exists()
    assert [c.path.name for c in settle(tree, scanner).settled] == ["theirs.csv"]


def test_hard_links_are_refused_in_both_folders(
    tree: Tree, flowing: Callable[[ScanResult], None]
) -> None:
    theirs = tree.put("theirs.csv", b"other agency", agency=AGENCIES[1])
    os.link(theirs, tree.drop() / "linked.csv")
    result = settle(tree, tree.scanner(stable_seconds=0))
    refused = by_name(result.refused)
    assert set(refused) == {"theirs.csv", "linked.csv"}
    assert {(r.reason_rule_id, r.kind) for r in refused.values()} == {
        (RULE_NOT_REGULAR, "hard-link")
    }
    flowing(result)
    moved = [quarantine_refusal(r, tree.quarantine) for r in refused.values()]
    assert all(path is not None and path.read_bytes() == b"other agency" for path in moved)


def test_fifo_is_refused_without_blocking(
    tree: Tree, flowing: Callable[[ScanResult], None]
) -> None:
    os.mkfifo(tree.drop() / "pipe.csv")
    scanner = tree.scanner(stable_seconds=0)
    result = settle(tree, scanner)
    [refusal] = result.refused
    assert (refusal.reason_rule_id, refusal.kind) == (RULE_NOT_REGULAR, "fifo")
    flowing(result)
    moved = in_thread(lambda: quarantine_refusal(refusal, tree.quarantine))
    assert moved is not None and stat.S_ISFIFO(os.lstat(moved).st_mode)


def test_socket_is_refused(tree: Tree, flowing: Callable[[ScanResult], None]) -> None:
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tree.drop() / "sock.csv"))
        result = settle(tree, tree.scanner(stable_seconds=0))
        [refusal] = result.refused
        assert (refusal.reason_rule_id, refusal.kind) == (RULE_NOT_REGULAR, "socket")
        flowing(result)


def test_device_is_refused(tree: Tree, flowing: Callable[[ScanResult], None]) -> None:
    try:
        os.mknod(tree.drop() / "null.csv", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("mknod is not permitted here")
    result = settle(tree, tree.scanner(stable_seconds=0))
    [refusal] = result.refused
    assert (refusal.reason_rule_id, refusal.kind) == (RULE_NOT_REGULAR, "char-device")
    flowing(result)


def test_directories_are_ignored_unless_named_like_a_file(
    tree: Tree, flowing: Callable[[ScanResult], None]
) -> None:
    (tree.drop() / "x.csv").mkdir()
    (tree.drop() / "archive").mkdir()
    (tree.drop() / "archive" / "inner.csv").write_bytes(b"id\n2\n")
    scanner = tree.scanner(stable_seconds=0)
    result = settle(tree, scanner)
    [refusal] = result.refused
    assert (refusal.path.name, refusal.kind) == ("x.csv", "directory")
    assert result.ignored == 0
    flowing(result)
    moved = quarantine_refusal(refusal, tree.quarantine)
    assert moved is not None and moved.is_dir()
    assert tree.listing(tree.drop()) == ["archive"]


HOSTILE = [
    b"\xff\xfe.csv",  # not UTF-8
    b"new\nline.csv",
    b"car\rriage.csv",
    b"tab\there.csv",
    b"\x1b[31mred.csv",  # terminal escape
    "clients_\u202evsc.exe".encode(),  # RTLO: displays as ...exe.csv
    "clients_\u202ecsv.txt".encode(),
    "sep\u2028arator.csv".encode(),
]
ACCEPTABLE = [
    b"-rf.csv",  # leading dash: harmless to us, we never pass names to a command
    b"a\\..\\..\\x.csv",  # backslashes are ordinary characters on Linux
    b"x" * 251 + b".csv",  # 255 bytes: the longest legal name
    unicodedata.normalize("NFC", "José_intake.csv").encode(),
    unicodedata.normalize("NFD", "José_intake.csv").encode(),  # a twin: a separate file
]


def test_hostile_names_are_refused_once_and_acceptable_ones_flow(
    tree: Tree, caplog: pytest.LogCaptureFixture, flowing: Callable[[ScanResult], None]
) -> None:
    caplog.set_level(logging.DEBUG)
    hidden = b"..\\..\\x.csv"  # starts with a dot: a hidden file, ignored like the rest
    for raw in [*HOSTILE, *ACCEPTABLE, hidden]:
        tree.put(raw, b"id\n" + hashlib.sha256(raw).hexdigest().encode() + b"\n")
    scanner = tree.scanner(stable_seconds=0)
    result = settle(tree, scanner)
    assert result.ignored == 1
    assert sorted(os.fsencode(r.path.name) for r in result.refused) == sorted(HOSTILE)
    for refusal in result.refused:
        assert refusal.reason_rule_id == RULE_BAD_NAME
        raw = os.fsencode(refusal.path.name)
        assert refusal.fingerprint == hashlib.sha256(raw).hexdigest()[:12]
    assert settle(tree, scanner).refused == []
    flowing(result)
    claimed = [claim(c, tree.work) for c in result.settled if c.path.name != "good.csv"]
    assert len(claimed) == len(ACCEPTABLE)
    for refusal in result.refused:
        assert quarantine_refusal(refusal, tree.quarantine) is not None
    assert tree.listing(tree.drop()) == [os.fsdecode(hidden)]
    _assert_no_name_leaked(tree, caplog, [*HOSTILE, *ACCEPTABLE])


def _assert_no_name_leaked(
    tree: Tree, caplog: pytest.LogCaptureFixture, names: list[bytes]
) -> None:
    """No name we were given appears in a file name or file content we created, or a log."""
    stems = [os.path.splitext(raw)[0] for raw in names]
    created = [*tree.work.iterdir(), *tree.quarantine.iterdir()]
    for path in created:
        assert path.name.split(".")[0].isalnum()
        if path.name.endswith(".json"):
            text = path.read_bytes()
            assert not any(stem in text for stem in stems)
            payload = json.loads(text)
            assert "name" not in payload and "path" not in payload
    logged = "\n".join(r.getMessage() for r in caplog.records).encode("utf-8", "surrogateescape")
    assert not any(stem in logged for stem in stems)


def test_a_lower_name_limit_refuses_long_names(tree: Tree) -> None:
    tree.put(b"y" * 120 + b".csv")
    [refusal] = tree.scanner(stable_seconds=0, max_name_bytes=100).scan().refused
    assert refusal.reason_rule_id == RULE_BAD_NAME


def test_quarantine_leaves_a_replaced_object_alone(tree: Tree) -> None:
    drop = tree.drop()
    os.symlink("/etc/passwd", drop / "swap.csv")
    [refusal] = tree.scanner(stable_seconds=0).scan().refused
    (drop / "swap.csv").unlink()
    keep = tree.put("keep.csv")  # something else took another inode meanwhile
    os.rename(keep, drop / "swap.csv")
    assert quarantine_refusal(refusal, tree.quarantine) is None
    assert (drop / "swap.csv").is_file()


_NAME_BYTES = st.binary(min_size=1, max_size=60).filter(
    lambda raw: b"/" not in raw and b"\0" not in raw and raw not in (b".", b"..")
)


@settings(max_examples=150, deadline=None)
@given(raw=_NAME_BYTES, suffix=st.sampled_from([b"", b".csv", b".XLSX", b".done", b".tmp"]))
def test_any_legal_name_is_handled_without_crashing(raw: bytes, suffix: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tree = Tree(Path(tmp))
        for agency in AGENCIES:
            tree.drop(agency).mkdir(parents=True)
        name = raw + suffix
        tree.put(name)
        result = tree.scanner(stable_seconds=0).scan()
        fates = len(result.settled) + len(result.refused) + result.ignored + result.pending
        # A lone marker is nothing; everything else has exactly one fate.
        assert fates == (0 if name.lower().endswith(b".done") and fates == 0 else 1)
        for refusal in result.refused:
            assert refusal.fingerprint == name_fingerprint(name)
        for candidate in result.settled:
            claimed = claim(candidate, tree.work)
            assert claimed is not None
            assert claimed.path.name == claimed.claim_id + claimed.suffix
            assert claimed.path.read_bytes() == b"id,name\n1,x\n"


def test_default_policy_is_what_the_contract_lists() -> None:
    policy = SettlePolicy()
    assert policy.allowed_suffixes == (".csv", ".xlsx", ".txt", ".tsv")
    assert {"~$*", ".~lock.*#", "*.filepart", "._*", ".*", "Thumbs.db"} <= set(policy.ignore_globs)
