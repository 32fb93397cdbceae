"""Duplicates are per agency; a refused file sent again is refused again; one notice per copy."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from connectors.dropfolder import DropFolderScanner, SettlePolicy, claim
from hmis_handoff.ledger import FileState
from tests.pipeline.test_pipeline import make_pipeline, rows
from tests.security.helpers import report_rows
from tests.synthetic import write_sample_csv
from usecases.handoff import FileOutcome, Handoff
from usecases.initialise import initialise

AGENCIES = ["demo-agency", "agency-b"]


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    initialise(data, demo=True)
    toml = data / "handoff.toml"
    toml.write_text(
        toml.read_text()
        + '\n[[agencies]]\nid = "agency-b"\nname = "Agency B"\npartner = "demo-partner"\n'
    )
    for kind in ("drop", "reports"):
        (data / "agencies" / "agency-b" / kind).mkdir(parents=True, mode=0o700)
    return data


def sweep(pipe: Handoff) -> list[FileOutcome]:
    scanner = DropFolderScanner(pipe.layout.agencies, AGENCIES, SettlePolicy(stable_seconds=0.05))
    outcomes: list[FileOutcome] = []
    for _ in range(40):
        result = scanner.scan()
        for candidate in result.settled:
            claimed = claim(candidate, pipe.layout.work)
            if claimed is not None:
                outcome = pipe.process_claim(claimed)
                assert outcome is not None
                outcomes.append(outcome)
        if not result.pending and not result.settled:
            break
        time.sleep(0.06)
    return outcomes


def drop(root: Path, agency: str, source: Path, name: str) -> None:
    shutil.copyfile(source, root / "agencies" / agency / "drop" / name)


def test_another_agencys_identical_file_is_not_called_a_duplicate(
    root: Path, tmp_path: Path
) -> None:
    pipe = make_pipeline(root)
    source = tmp_path / "same.csv"
    write_sample_csv(source, rows(2, "DUPA"))
    drop(root, "demo-agency", source, "a.csv")
    (first,) = sweep(pipe)
    assert first.state == FileState.DELIVERED
    drop(root, "agency-b", source, "b.csv")
    (second,) = sweep(pipe)
    assert second.state != FileState.DUPLICATE and second.duplicate_of_ref is None
    assert second.reject_rule == "FILE-WRONG-AGENCY"  # judged on its own rows
    assert not [r for r in report_rows(root, "agency-b") if r["rule_id"] == "FILE-DUPLICATE"]


def test_a_refused_file_sent_again_gets_the_same_refusal(root: Path, tmp_path: Path) -> None:
    pipe = make_pipeline(root)
    source = tmp_path / "bad.csv"
    data = rows(2, "REJ")
    for row in data:
        row["VeteranStatus"] = "7"
    write_sample_csv(source, data)
    drop(root, "demo-agency", source, "bad.csv")
    (first,) = sweep(pipe)
    assert first.state == FileState.REJECTED
    drop(root, "demo-agency", source, "bad-again.csv")
    (second,) = sweep(pipe)
    assert second.state == FileState.REJECTED
    assert second.reject_rule == first.reject_rule
    assert second.claim_id != first.claim_id
    assert not [r for r in report_rows(root) if r["rule_id"] == "FILE-DUPLICATE"]


def test_two_same_day_duplicates_get_two_notices(root: Path, tmp_path: Path) -> None:
    pipe = make_pipeline(root)
    source = tmp_path / "good.csv"
    write_sample_csv(source, rows(1, "TWO"))
    drop(root, "demo-agency", source, "one.csv")
    (first,) = sweep(pipe)
    assert first.state == FileState.DELIVERED
    for name in ("copy1.csv", "copy2.csv"):
        drop(root, "demo-agency", source, name)
        (outcome,) = sweep(pipe)
        assert outcome.state == FileState.DUPLICATE
    notices = sorted((root / "agencies" / "demo-agency" / "reports").glob("*_duplicate-*.csv"))
    assert len(notices) == 2
