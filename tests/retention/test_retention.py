"""Retention of encrypted originals, and partner key rotation."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from hmis_handoff.crypto.age import X25519Identity, decrypt_file, encrypt_file
from hmis_handoff.retention import purge_expired


def _touch(directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(b"ciphertext")
    return path


def test_purge_removes_only_our_expired_encrypted_originals(tmp_path: Path) -> None:
    archive, quarantine = tmp_path / "archive", tmp_path / "quarantine"
    old = _touch(archive, "20260101-0123456789ab.csv.age")
    fresh = _touch(archive, "20260320-0123456789ab.csv.age")
    rejected_old = _touch(quarantine, "20260201-abcdefabcdef.xlsx.age")
    foreign = _touch(archive, "notes.txt")
    odd = _touch(archive, "20261399-0123456789ab.csv.age")  # not a real date: left alone
    result = purge_expired(
        archive, quarantine, archive_days=30, rejected_days=10, today=date(2026, 3, 25)
    )
    assert (result.archive_removed, result.quarantine_removed) == (1, 1)
    assert not old.exists() and not rejected_old.exists()
    assert fresh.exists() and foreign.exists() and odd.exists()


def test_rotation_new_recipient_for_new_packages_old_identity_still_decrypts(
    tmp_path: Path,
) -> None:
    """A partner rotates keys: new packages go to the new recipient, old ones stay readable."""
    old_identity, new_identity = X25519Identity.generate(), X25519Identity.generate()
    plain = tmp_path / "plain.csv"
    plain.write_bytes(b"IntakeID\r\nT1\r\n")
    before = tmp_path / "before.age"
    after = tmp_path / "after.age"
    encrypt_file(plain, before, [old_identity.recipient])
    encrypt_file(plain, after, [new_identity.recipient])
    decrypt_file(before, tmp_path / "b.csv", [old_identity])
    decrypt_file(after, tmp_path / "a.csv", [new_identity])
    assert (
        (tmp_path / "b.csv").read_bytes() == (tmp_path / "a.csv").read_bytes() == plain.read_bytes()
    )
