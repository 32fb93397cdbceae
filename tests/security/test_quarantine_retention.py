"""Refused objects in quarantine: a folder is kept only encrypted, and retention purges them."""

from __future__ import annotations

import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hmis_handoff.crypto.age import decrypt_file, parse_identities_file
from hmis_handoff.retention import purge_expired
from tests.pipeline.test_pipeline import make_pipeline, run_all
from usecases.initialise import initialise


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    initialise(data, demo=True)
    return data


def test_a_refused_folder_is_kept_only_encrypted_and_then_purged(
    root: Path, tmp_path: Path
) -> None:
    drop = root / "agencies" / "demo-agency" / "drop"
    folder = drop / "intakes.csv"  # a folder with a file-like name: refused, not ignored
    folder.mkdir()
    (folder / "inner.csv").write_text("IntakeID,FirstName\r\nQ1,CNRY-folder-name\r\n")
    (drop / "notes.pdf").write_bytes(b"%PDF CNRY-pdf")
    pipe = make_pipeline(root)
    _, refusals = run_all(pipe)
    assert sorted(refusals) == ["FILE-BAD-TYPE", "FILE-NOT-REGULAR"]
    quarantine = root / "quarantine"
    names = sorted(p.name for p in quarantine.iterdir())
    assert not any(n.endswith(".quarantined") for n in names), names
    encrypted = sorted(quarantine.glob("*.quarantined.age"))
    assert len(encrypted) == 2
    for path in quarantine.rglob("*"):
        if path.is_file():
            assert b"CNRY" not in path.read_bytes()
    archive_key = parse_identities_file(root / "keys" / "coc-archive.key")
    members: list[str] = []
    contents: list[bytes] = []
    for path in encrypted:
        out = tmp_path / f"{path.name}.plain"
        decrypt_file(path, out, archive_key)
        contents.append(out.read_bytes())
        if tarfile.is_tarfile(out):
            with tarfile.open(out) as tar:
                members = tar.getnames()
    assert any(c.startswith(b"%PDF") for c in contents)
    assert "quarantined/inner.csv" in members

    today = datetime.now(UTC).date()
    kept = purge_expired(
        root / "archive", quarantine, archive_days=30, rejected_days=10, today=today
    )
    assert kept.quarantine_removed == 0 and len(list(quarantine.iterdir())) == 4
    later = purge_expired(
        root / "archive",
        quarantine,
        archive_days=30,
        rejected_days=10,
        today=today + timedelta(days=11),
    )
    assert later.quarantine_removed == 2
    assert list(quarantine.iterdir()) == []
