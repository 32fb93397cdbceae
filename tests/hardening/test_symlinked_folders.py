"""Finding 1 (critical): an agency swaps its drop or reports folder for a symlink.

The scanner must not follow it (nothing outside the drop folder is quarantined, moved or
deleted), the operator hears ``FOLDER-UNSAFE`` naming the agency, other agencies go on,
and receipts are never written through a symlinked ``reports``.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

import pytest

from connectors.dropfolder import DropFolderScanner, SettlePolicy, claim
from hmis_handoff.errors import ConfigError, UnsafeFolderError
from hmis_handoff.layout import Layout
from tests.pipeline.test_pipeline import drop_rows, make_pipeline, rows
from usecases.handoff import Handoff


def _scan_until_quiet(pipe: Handoff, agencies: list[str]) -> tuple[int, int]:
    """Scan, answer refusals, claim and process; returns (refusals, handoffs)."""
    scanner = DropFolderScanner(pipe.layout.agencies, agencies, SettlePolicy(stable_seconds=0.05))
    refused = handed = 0
    for _ in range(30):
        result = scanner.scan()
        for refusal in result.refused:
            pipe.answer_refusal(refusal)
            refused += 1
        for candidate in result.settled:
            got = claim(candidate, pipe.layout.work)
            if got is not None and pipe.process_claim(got) is not None:
                handed += 1
        if not result.pending and not result.settled:
            break
        time.sleep(0.06)
    return refused, handed


def test_drop_symlinked_to_state_is_never_followed(
    root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pipe = make_pipeline(root)
    state = root / "state"
    # Files a hostile link would have us quarantine: every name in state/, plus one that
    # would be claimable, so both the refusal and the claim path are exercised.
    (state / "planted.csv").write_bytes(b"IntakeID\n1\n")
    before = {p.name: p.read_bytes() for p in state.iterdir() if p.is_file()}
    drop = root / "agencies" / "demo-agency" / "drop"
    shutil.rmtree(drop)
    os.symlink("../../state", drop)
    with caplog.at_level(logging.ERROR):
        refused, handed = _scan_until_quiet(pipe, ["demo-agency"])
    assert (refused, handed) == (0, 0)
    after = {p.name: p.read_bytes() for p in state.iterdir() if p.is_file()}
    assert after == before
    assert list((root / "quarantine").iterdir()) == []
    assert [p for p in (root / "work").iterdir() if not p.name.endswith(".lock")] == []
    messages = [r.getMessage() for r in caplog.records]
    assert any("FOLDER-UNSAFE" in m and "demo-agency" in m for m in messages), messages


def test_foreign_owned_drop_is_refused(root: Path, caplog: pytest.LogCaptureFixture) -> None:
    if os.geteuid() != 0:
        pytest.fail("this test chowns a folder and must run as root (CI does)")
    pipe = make_pipeline(root)
    drop_rows(root, rows(2, "OWNER"))
    drop = root / "agencies" / "demo-agency" / "drop"
    os.chown(drop, 54321, 54321)
    with caplog.at_level(logging.ERROR):
        assert _scan_until_quiet(pipe, ["demo-agency"]) == (0, 0)
    assert len(list(drop.iterdir())) == 1  # left where it was, untouched
    assert any("FOLDER-UNSAFE" in r.getMessage() for r in caplog.records)


def test_other_agencies_proceed_while_one_drop_is_a_link(root: Path) -> None:
    pipe = make_pipeline(root)
    other = root / "agencies" / "other-agency" / "drop"
    other.mkdir(parents=True, mode=0o700)
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.csv").write_bytes(b"x\n")
    shutil.rmtree(other)
    os.symlink(elsewhere, other)
    drop_rows(root, rows(2, "GOOD"))
    refused, handed = _scan_until_quiet(pipe, ["demo-agency", "other-agency"])
    assert (refused, handed) == (0, 1)
    assert (elsewhere / "keep.csv").read_bytes() == b"x\n"


def test_receipt_is_never_written_through_a_symlinked_reports(root: Path) -> None:
    pipe = make_pipeline(root)
    reports = root / "agencies" / "demo-agency" / "reports"
    target = root / "state"
    before = sorted(p.name for p in target.iterdir())
    shutil.rmtree(reports)
    os.symlink("../../state", reports)
    drop_rows(root, rows(2, "RECEIPT"))
    with pytest.raises(UnsafeFolderError) as caught:
        _scan_until_quiet(pipe, ["demo-agency"])
    assert caught.value.rule_id == "FOLDER-UNSAFE"
    assert "RECEIPT" not in str(caught.value)
    assert sorted(p.name for p in target.iterdir()) == before


@pytest.mark.parametrize("name", ["work", "quarantine", "archive", "state"])
def test_data_root_subfolder_swapped_for_a_link_is_refused(root: Path, name: str) -> None:
    pipe = make_pipeline(root)
    folder = root / name
    moved = root / f"{name}-real"
    folder.rename(moved)
    os.symlink(moved, folder)
    with pytest.raises(UnsafeFolderError):
        pipe.recover()
    with pytest.raises(ConfigError):
        Layout(root).create(["demo-agency"], ["demo-partner"])
