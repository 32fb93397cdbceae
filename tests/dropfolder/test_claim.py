"""Claim by atomic rename: one winner, nothing overwritten, nothing left half-claimed."""

from __future__ import annotations

import json
import os
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors import dropfolder
from connectors.dropfolder import (
    ClaimedFile,
    DropCandidate,
    claim,
    pending_claims,
)
from hmis_handoff.errors import ConfigError
from hmis_handoff.workarea import CLAIM_SIDECAR_SUFFIX, name_fingerprint

from .conftest import AGENCIES, Tree


def settled(tree: Tree, name: str, data: bytes = b"id\n1\n") -> DropCandidate:
    tree.put(name, data)
    [candidate] = [c for c in tree.scanner(stable_seconds=0).scan().settled if c.path.name == name]
    return candidate


def test_claim_moves_the_file_under_a_claim_id_with_a_sidecar(tree: Tree) -> None:
    candidate = settled(tree, "Jane_Doe_Intake.CSV")
    claimed = claim(candidate, tree.work)
    assert claimed is not None
    assert claimed.path == tree.work / f"{claimed.claim_id}.csv"
    assert (claimed.suffix, claimed.agency_id) == (".csv", AGENCIES[0])
    assert claimed.name_fingerprint == name_fingerprint("Jane_Doe_Intake.CSV")
    assert claimed.claimed_at.tzinfo is UTC
    assert claimed.path.read_bytes() == b"id\n1\n"
    assert stat.S_IMODE(os.stat(claimed.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tree.work).st_mode) == 0o700
    assert tree.listing(tree.drop()) == []
    sidecar = tree.work / f"{claimed.claim_id}{CLAIM_SIDECAR_SUFFIX}"
    payload = json.loads(sidecar.read_text())
    assert payload == {
        "claim_id": claimed.claim_id,
        "agency_id": AGENCIES[0],
        "claimed_at": claimed.claimed_at.isoformat(),
        "suffix": ".csv",
        "name_fingerprint": claimed.name_fingerprint,
    }
    assert "Jane" not in sidecar.read_text()


def test_claim_ids_are_unique_and_sort_by_time(tree: Tree) -> None:
    ids = [dropfolder.new_claim_id() for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert ids[0][:12] <= ids[-1][:12]


def test_vanished_file_is_not_claimed(tree: Tree) -> None:
    candidate = settled(tree, "gone.csv")
    candidate.path.unlink()
    assert claim(candidate, tree.work) is None
    assert tree.listing(tree.work) == []


def test_file_changed_since_the_scan_is_not_claimed(tree: Tree) -> None:
    candidate = settled(tree, "grew.csv")
    with candidate.path.open("ab") as handle:
        handle.write(b"2\n")
    assert claim(candidate, tree.work) is None
    assert candidate.path.read_bytes() == b"id\n1\n2\n"
    assert tree.listing(tree.work) == []


def _writer_still_going(monkeypatch: pytest.MonkeyPatch, redrop: bool) -> None:
    """Make the writer append right after our rename (and maybe re-drop the same name)."""
    real = dropfolder._atomic_rename

    def rename_then_write(src: Path, dst: Path) -> None:
        real(src, dst)
        with dst.open("ab") as handle:
            handle.write(b"late\n")
        if redrop:
            src.write_bytes(b"new file\n")

    monkeypatch.setattr(dropfolder, "_atomic_rename", rename_then_write)


def test_file_changed_after_the_rename_goes_back_under_its_name(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    candidate = settled(tree, "busy.csv")
    _writer_still_going(monkeypatch, redrop=False)
    assert claim(candidate, tree.work) is None
    assert candidate.path.read_bytes() == b"id\n1\nlate\n"
    assert tree.listing(tree.work) == []


def test_file_changed_after_the_rename_never_replaces_a_new_drop(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    candidate = settled(tree, "busy.csv")
    _writer_still_going(monkeypatch, redrop=True)
    assert claim(candidate, tree.work) is None
    assert candidate.path.read_bytes() == b"new file\n"
    [neutral] = [name for name in tree.listing(tree.drop()) if name != "busy.csv"]
    assert neutral.endswith(".csv") and len(neutral) == 36
    assert (tree.drop() / neutral).read_bytes() == b"id\n1\nlate\n"
    assert tree.listing(tree.work) == []


def _race(candidates: list[DropCandidate], work: Path) -> list[ClaimedFile | None]:
    """Call claim for every candidate at the same moment, one thread each."""
    barrier = threading.Barrier(len(candidates))
    results: list[ClaimedFile | None] = []

    def worker(candidate: DropCandidate) -> None:
        barrier.wait()
        results.append(claim(candidate, work))

    threads = [threading.Thread(target=worker, args=(c,)) for c in candidates]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_workers_racing_for_one_file_claim_it_once(tree: Tree) -> None:
    for round_ in range(40):
        name = f"race{round_}.csv"
        tree.put(name, name.encode())
        candidates = [
            next(c for c in tree.scanner(stable_seconds=0).scan().settled if c.path.name == name)
            for _worker in range(2)
        ]
        [winner] = [r for r in _race(candidates, tree.work) if r is not None]
        assert winner.path.read_bytes() == name.encode()
    names = tree.listing(tree.work)
    assert len(names) == 80  # 40 files + 40 sidecars: no loser left a sidecar behind
    assert len(pending_claims(tree.work)) == 40


def test_work_on_another_filesystem_is_a_config_error(tree: Tree) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tree.root).st_dev:
        pytest.skip("no second filesystem to claim across")
    candidate = settled(tree, "far.csv")
    work = shm / f"dropfolder-test-{os.getpid()}"
    try:
        with pytest.raises(ConfigError):
            claim(candidate, work)
        assert candidate.path.exists()
        assert os.listdir(work) == []
    finally:
        for leftover in work.iterdir():
            leftover.unlink()
        work.rmdir()


# Recovery ----------------------------------------------------------------------------------


def _sidecar(work: Path, claim_id: str, *, age: timedelta, suffix: str = ".csv") -> Path:
    work.mkdir(exist_ok=True)
    path = work / f"{claim_id}{CLAIM_SIDECAR_SUFFIX}"
    payload = {
        "claim_id": claim_id,
        "agency_id": AGENCIES[1],
        "claimed_at": (datetime.now(UTC) - age).isoformat(),
        "suffix": suffix,
        "name_fingerprint": "0123456789ab",
    }
    path.write_text(json.dumps(payload))
    return path


def test_pending_claims_returns_complete_claims_oldest_first(tree: Tree) -> None:
    first = claim(settled(tree, "one.csv"), tree.work)
    second = claim(settled(tree, "two.xlsx", b"PK"), tree.work)
    assert pending_claims(tree.work) == [first, second]


def test_recovery_deletes_old_sidecars_without_a_file(tree: Tree) -> None:
    old = _sidecar(tree.work, "0" * 31 + "1", age=timedelta(hours=1))
    fresh = _sidecar(tree.work, "0" * 31 + "2", age=timedelta(seconds=1))
    assert pending_claims(tree.work) == []
    assert not old.exists()
    assert fresh.exists()  # another worker may be between its sidecar and its rename


def test_recovery_keeps_a_sidecar_with_its_file(tree: Tree) -> None:
    claim_id = "0" * 31 + "3"
    _sidecar(tree.work, claim_id, age=timedelta(hours=1), suffix=".xlsx")
    (tree.work / f"{claim_id}.xlsx").write_bytes(b"PK")
    [claimed] = pending_claims(tree.work)
    assert (claimed.claim_id, claimed.agency_id, claimed.suffix) == (claim_id, AGENCIES[1], ".xlsx")
    assert claimed.path == tree.work / f"{claim_id}.xlsx"


def test_recovery_leaves_what_it_does_not_understand(
    tree: Tree, caplog: pytest.LogCaptureFixture
) -> None:
    tree.work.mkdir()
    orphan = "0" * 31 + "4"
    broken = "0" * 31 + "5"
    leftovers = {
        f"{orphan}.csv": b"id\n",  # a file without its sidecar
        f"{broken}{CLAIM_SIDECAR_SUFFIX}": b"{not json",
        f"{orphan}.send.csv": b"x",  # the pipeline's own work files
        f"{orphan}.lock": b"",
        "notes.txt": b"",
    }
    for name, data in leftovers.items():
        (tree.work / name).write_bytes(data)
    assert pending_claims(tree.work) == []
    assert tree.listing(tree.work) == sorted(leftovers)
    messages = [r.getMessage() for r in caplog.records]
    assert any(orphan in m and "no sidecar" in m for m in messages)
    assert any(broken in m and "unreadable sidecar" in m for m in messages)


def test_recovery_of_a_missing_work_folder_is_empty(tree: Tree) -> None:
    assert pending_claims(tree.work) == []


def test_crash_between_sidecar_and_rename_loses_nothing(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    candidate = settled(tree, "crash.csv")

    def crash(src: Path, dst: Path) -> None:
        raise SystemExit("killed")

    with monkeypatch.context() as patch:
        patch.setattr(dropfolder, "_atomic_rename", crash)
        with pytest.raises(SystemExit):
            claim(candidate, tree.work)
    assert candidate.path.exists()
    assert pending_claims(tree.work, orphan_grace_seconds=0) == []
    assert tree.listing(tree.work) == []
    claimed = claim(candidate, tree.work)
    assert claimed is not None and pending_claims(tree.work) == [claimed]
