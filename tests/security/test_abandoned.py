"""Partial uploads, lock/temp/hidden files and subfolders are answered after a grace period."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from connectors.dropfolder import DropFolderScanner, SettlePolicy
from tests.pipeline.test_pipeline import make_pipeline
from tests.security.helpers import report_rows
from usecases.initialise import initialise

LEFT_BEHIND = ["intake.csv.part", "intake.xlsx.crdownload", "~$intake.xlsx", ".hidden"]


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    initialise(data, demo=True)
    return data


def _age(path: Path, seconds: float) -> None:
    old = time.time() - seconds
    os.utime(path, (old, old), follow_symlinks=False)


def test_left_behind_objects_are_answered_and_kept_only_encrypted(root: Path) -> None:
    drop = root / "agencies" / "demo-agency" / "drop"
    for name in LEFT_BEHIND:
        (drop / name).write_bytes(b"CNRY-left-behind")
    folder = drop / "old uploads"
    folder.mkdir()
    (folder / "client.csv").write_bytes(b"CNRY-in-folder")
    pipe = make_pipeline(root)
    policy = SettlePolicy(stable_seconds=0.05, abandon_seconds=1.0)
    scanner = DropFolderScanner(pipe.layout.agencies, ["demo-agency"], policy)

    fresh = scanner.scan()
    assert fresh.refused == [] and fresh.ignored == len(LEFT_BEHIND)
    time.sleep(1.2)  # ctime cannot be set back, so the grace period is really waited out
    result = scanner.scan()
    assert sorted(r.reason_rule_id for r in result.refused) == ["FILE-ABANDONED"] * 5
    for refusal in result.refused:
        pipe.answer_refusal(refusal)
    assert os.listdir(drop) == []
    quarantine = root / "quarantine"
    assert len(list(quarantine.glob("*.quarantined.age"))) == 5
    for path in quarantine.rglob("*"):
        assert not path.is_dir()
        assert b"CNRY" not in path.read_bytes()
    answered = [r for r in report_rows(root) if r["rule_id"] == "FILE-ABANDONED"]
    assert len(answered) == 5


def test_a_recent_partial_upload_is_left_alone(root: Path) -> None:
    drop = root / "agencies" / "demo-agency" / "drop"
    part = drop / "upload.csv.part"
    part.write_bytes(b"still coming")
    _age(part, 3600)  # an old mtime alone (a copy tool's) does not make it abandoned
    scanner = DropFolderScanner(
        root / "agencies", ["demo-agency"], SettlePolicy(stable_seconds=0.05, abandon_seconds=60)
    )
    assert scanner.scan().refused == []
    assert part.exists()
