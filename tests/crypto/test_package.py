"""Packages: write (idempotent, signature last) and verify-then-decrypt (every failure distinct).

Each failure case asserts its exception class, a message that says what failed, and that
neither an output file nor a temp file is left behind.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from hmis_handoff.crypto.age import NoIdentityMatch, X25519Identity
from hmis_handoff.crypto.errors import (
    CiphertextMismatch,
    CiphertextTruncated,
    ManifestInvalid,
    ManifestTampered,
    PackageConflict,
    PackageError,
    PackageIncomplete,
    PlaintextMismatch,
    SignatureInvalid,
    WrongSigner,
)
from hmis_handoff.crypto.package import (
    FORMAT,
    SIGNATURE_NAMESPACE,
    PackageManifest,
    PackagePaths,
    is_complete,
    verify_and_decrypt,
    write_package,
)
from hmis_handoff.crypto.signing import SigningKey

from .conftest import random_payload

CREATED = datetime(2026, 3, 2, 15, 4, 5, 123456, tzinfo=timezone(timedelta(hours=-6)))
PII_ROWS = b"PersonalID,FirstName,LastName,SSN,DOB\n1,Ana,Quintero,123456789,1990-01-31\n"


@pytest.fixture
def plaintext(tmp_path: Path) -> Path:
    path = tmp_path / "agency-drop" / "March intake Quintero.csv"
    path.parent.mkdir()
    path.write_bytes(PII_ROWS * 2000)
    return path


def make(
    plaintext: Path,
    outbox: Path,
    identity: X25519Identity,
    key: SigningKey,
    **overrides: object,
) -> PackagePaths:
    arguments: dict[str, object] = {
        "package_id": "pkg-3f2a9c1b7d4e",
        "agency_id": "demo-agency",
        "partner_id": "demo-partner",
        "record_count": 2000,
        "schema_version": "FY2026-1",
        "recipients": [identity.recipient],
        "signing_key": key,
        "created_at": CREATED,
    }
    arguments.update(overrides)
    return write_package(plaintext, outbox, **arguments)  # type: ignore[arg-type]


def test_write_then_verify_and_decrypt(
    tmp_path: Path, plaintext: Path, identity: X25519Identity, signing_key: SigningKey
) -> None:
    outbox = tmp_path / "outbox"
    paths = make(plaintext, outbox, identity, signing_key)
    assert [p.name for p in (paths.age, paths.manifest, paths.signature)] == [
        "pkg-3f2a9c1b7d4e.age",
        "pkg-3f2a9c1b7d4e.manifest.json",
        "pkg-3f2a9c1b7d4e.manifest.json.sig",
    ]
    assert sorted(p.name for p in outbox.iterdir()) == sorted(
        p.name for p in (paths.age, paths.manifest, paths.signature)
    )
    assert is_complete(outbox, "pkg-3f2a9c1b7d4e")
    assert (outbox.stat().st_mode & 0o777) == 0o700
    out = tmp_path / "partner" / "intake.csv"
    out.parent.mkdir()
    manifest = verify_and_decrypt(
        paths.age, out, identities=[identity], trusted_signers=[signing_key.verify_key]
    )
    assert out.read_bytes() == plaintext.read_bytes()
    assert manifest == paths.package_manifest
    assert manifest.created_at == datetime(2026, 3, 2, 21, 4, 5, tzinfo=UTC)
    assert manifest.recipient_fingerprints == (identity.recipient.fingerprint,)
    assert manifest.signer == str(signing_key.verify_key)


def test_manifest_is_canonical_and_has_no_pii(
    tmp_path: Path, plaintext: Path, identity: X25519Identity, signing_key: SigningKey
) -> None:
    paths = make(plaintext, tmp_path / "outbox", identity, signing_key)
    raw = paths.manifest.read_bytes()
    document = json.loads(raw)
    assert set(document) == {
        "format",
        "package_id",
        "agency_id",
        "partner_id",
        "created_at",
        "record_count",
        "schema_version",
        "plaintext_sha256",
        "ciphertext_sha256",
        "ciphertext_size",
        "recipient_fingerprints",
        "signer",
    }
    assert document["format"] == FORMAT
    assert document["created_at"] == "2026-03-02T21:04:05Z"
    assert document["ciphertext_size"] == paths.age.stat().st_size
    for secret in (b"Quintero", b"123456789", b"1990-01-31", b"March intake", b"Ana"):
        assert secret not in raw
    assert PackageManifest.from_json(raw) == paths.package_manifest
    assert paths.package_manifest.to_json().encode() == raw


def test_write_is_idempotent_and_detects_conflicts(
    tmp_path: Path, plaintext: Path, identity: X25519Identity, signing_key: SigningKey
) -> None:
    outbox = tmp_path / "outbox"
    first = make(plaintext, outbox, identity, signing_key)
    before = {p.name: p.read_bytes() for p in outbox.iterdir()}
    again = make(plaintext, outbox, identity, signing_key)
    assert again == first
    assert {p.name: p.read_bytes() for p in outbox.iterdir()} == before
    with pytest.raises(PackageConflict, match="different package with this id"):
        make(plaintext, outbox, identity, signing_key, record_count=1999)
    assert {p.name: p.read_bytes() for p in outbox.iterdir()} == before


@pytest.mark.parametrize("missing", ["signature", "manifest", "age"])
def test_incomplete_package_is_rewritten(
    tmp_path: Path,
    plaintext: Path,
    identity: X25519Identity,
    signing_key: SigningKey,
    missing: str,
) -> None:
    outbox = tmp_path / "outbox"
    first = make(plaintext, outbox, identity, signing_key)
    getattr(first, missing).unlink()
    assert not is_complete(outbox, "pkg-3f2a9c1b7d4e")
    second = make(plaintext, outbox, identity, signing_key)
    assert is_complete(outbox, "pkg-3f2a9c1b7d4e")
    assert second.package_manifest.ciphertext_sha256 != first.package_manifest.ciphertext_sha256
    out = tmp_path / "out.csv"
    verify_and_decrypt(
        second.age, out, identities=[identity], trusted_signers=[signing_key.verify_key]
    )
    assert out.read_bytes() == plaintext.read_bytes()


def test_unverifiable_complete_package_is_rewritten(
    tmp_path: Path, plaintext: Path, identity: X25519Identity, signing_key: SigningKey
) -> None:
    outbox = tmp_path / "outbox"
    first = make(plaintext, outbox, identity, signing_key)
    data = bytearray(first.age.read_bytes())
    data[-1] ^= 1
    first.age.write_bytes(bytes(data))
    second = make(plaintext, outbox, identity, signing_key)
    assert second.package_manifest.ciphertext_sha256 != first.package_manifest.ciphertext_sha256
    assert sorted(p.name for p in outbox.iterdir()) == sorted(
        p.name for p in (second.age, second.manifest, second.signature)
    )


def test_bad_package_ids_are_refused(
    tmp_path: Path, plaintext: Path, identity: X25519Identity, signing_key: SigningKey
) -> None:
    for bad in ("../escape", "", "a b", "x" * 129, ".hidden"):
        with pytest.raises(ValueError):
            make(plaintext, tmp_path / "outbox", identity, signing_key, package_id=bad)
    with pytest.raises(ValueError, match="timezone-aware"):
        make(plaintext, tmp_path / "outbox", identity, signing_key, created_at=datetime(2026, 1, 1))


def _edit_manifest(paths: PackagePaths, change: Callable[[dict[str, object]], None]) -> bytes:
    document = json.loads(paths.manifest.read_bytes())
    change(document)
    return (json.dumps(document, sort_keys=True, indent=2) + "\n").encode()


def _resign(
    paths: PackagePaths, key: SigningKey, change: Callable[[dict[str, object]], None]
) -> None:
    data = _edit_manifest(paths, change)
    paths.manifest.write_bytes(data)
    paths.signature.write_bytes(key.sign_sshsig(data, SIGNATURE_NAMESPACE))


Tamper = Callable[[PackagePaths, SigningKey], None]


def wrong_signer(paths: PackagePaths, key: SigningKey) -> None:
    data = paths.manifest.read_bytes()
    paths.signature.write_bytes(SigningKey.generate().sign_sshsig(data, SIGNATURE_NAMESPACE))


def edited_manifest(paths: PackagePaths, key: SigningKey) -> None:
    paths.manifest.write_bytes(_edit_manifest(paths, lambda d: d.update(record_count=1)))


def garbage_signature(paths: PackagePaths, key: SigningKey) -> None:
    paths.signature.write_bytes(
        b"-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n"
    )


def missing_signature(paths: PackagePaths, key: SigningKey) -> None:
    paths.signature.unlink()


def missing_ciphertext(paths: PackagePaths, key: SigningKey) -> None:
    paths.age.unlink()


def flipped_ciphertext(paths: PackagePaths, key: SigningKey) -> None:
    data = bytearray(paths.age.read_bytes())
    data[len(data) // 2] ^= 1
    paths.age.write_bytes(bytes(data))


def truncated_ciphertext(paths: PackagePaths, key: SigningKey) -> None:
    paths.age.write_bytes(paths.age.read_bytes()[:-1000])


def appended_ciphertext(paths: PackagePaths, key: SigningKey) -> None:
    paths.age.write_bytes(paths.age.read_bytes() + b"\x00")


def plaintext_hash_mismatch(paths: PackagePaths, key: SigningKey) -> None:
    _resign(paths, key, lambda d: d.update(plaintext_sha256="0" * 64))


def other_package_manifest(paths: PackagePaths, key: SigningKey) -> None:
    _resign(paths, key, lambda d: d.update(package_id="pkg-other"))


def malformed_manifest(paths: PackagePaths, key: SigningKey) -> None:
    _resign(paths, key, lambda d: d.update(record_count="many"))


FAILURES: list[tuple[str, Tamper, type[Exception], str]] = [
    ("wrong signer", wrong_signer, WrongSigner, "wrong signer: .*not a trusted signer"),
    ("edited manifest", edited_manifest, ManifestTampered, "manifest was edited after signing"),
    ("garbage signature", garbage_signature, SignatureInvalid, "signature file is invalid"),
    ("missing signature", missing_signature, PackageIncomplete, "signature is missing"),
    ("missing ciphertext", missing_ciphertext, PackageIncomplete, "ciphertext is missing"),
    ("ciphertext tampered", flipped_ciphertext, CiphertextMismatch, "SHA-256 does not match"),
    ("ciphertext truncated", truncated_ciphertext, CiphertextTruncated, "truncated"),
    ("ciphertext appended", appended_ciphertext, CiphertextMismatch, "1 bytes more"),
    ("plaintext hash", plaintext_hash_mismatch, PlaintextMismatch, "not the file that was signed"),
    ("other package", other_package_manifest, ManifestInvalid, "another package"),
    ("malformed manifest", malformed_manifest, ManifestInvalid, "record_count"),
]


@pytest.mark.parametrize(
    ("tamper", "error", "message"), [f[1:] for f in FAILURES], ids=[f[0] for f in FAILURES]
)
def test_verify_failures_leave_no_output(
    tmp_path: Path,
    plaintext: Path,
    identity: X25519Identity,
    signing_key: SigningKey,
    tamper: Tamper,
    error: type[Exception],
    message: str,
) -> None:
    paths = make(plaintext, tmp_path / "outbox", identity, signing_key)
    tamper(paths, signing_key)
    out_dir = tmp_path / "partner"
    out_dir.mkdir()
    with pytest.raises(error, match=message) as caught:
        verify_and_decrypt(
            paths.age,
            out_dir / "intake.csv",
            identities=[identity],
            trusted_signers=[signing_key.verify_key],
        )
    assert type(caught.value) is error
    assert isinstance(caught.value, PackageError)
    assert list(out_dir.iterdir()) == []


def test_wrong_key_is_no_identity_match(
    tmp_path: Path,
    plaintext: Path,
    identity: X25519Identity,
    other_identity: X25519Identity,
    signing_key: SigningKey,
) -> None:
    paths = make(plaintext, tmp_path / "outbox", identity, signing_key)
    out_dir = tmp_path / "partner"
    out_dir.mkdir()
    with pytest.raises(NoIdentityMatch, match="encrypted to another key"):
        verify_and_decrypt(
            paths.age,
            out_dir / "intake.csv",
            identities=[other_identity],
            trusted_signers=[signing_key.verify_key],
        )
    assert list(out_dir.iterdir()) == []


def test_existing_output_is_refused(
    tmp_path: Path, plaintext: Path, identity: X25519Identity, signing_key: SigningKey
) -> None:
    paths = make(plaintext, tmp_path / "outbox", identity, signing_key)
    out = tmp_path / "intake.csv"
    out.write_bytes(b"keep")
    with pytest.raises(FileExistsError):
        verify_and_decrypt(
            paths.age, out, identities=[identity], trusted_signers=[signing_key.verify_key]
        )
    assert out.read_bytes() == b"keep"


def test_manifest_parser_is_strict() -> None:
    valid = {
        "format": FORMAT,
        "package_id": "p",
        "agency_id": "a",
        "partner_id": "b",
        "created_at": "2026-01-31T12:00:00Z",
        "record_count": 1,
        "schema_version": "FY2026",
        "plaintext_sha256": "a" * 64,
        "ciphertext_sha256": "b" * 64,
        "ciphertext_size": 10,
        "recipient_fingerprints": ["0123456789ab"],
        "signer": str(SigningKey.generate().verify_key),
    }
    assert PackageManifest.from_json(json.dumps(valid)).record_count == 1
    bad_documents: list[str] = [
        "[]",
        "not json",
        json.dumps({**valid, "extra": "Ana Quintero"}),
        json.dumps({k: v for k, v in valid.items() if k != "signer"}),
        json.dumps({**valid, "format": "other/1"}),
        json.dumps({**valid, "record_count": True}),
        json.dumps({**valid, "record_count": -1}),
        json.dumps({**valid, "created_at": "2026-01-31 12:00"}),
        json.dumps({**valid, "plaintext_sha256": "A" * 64}),
        json.dumps({**valid, "recipient_fingerprints": []}),
        json.dumps({**valid, "agency_id": "Ana Quintero"}),
        json.dumps(valid)[:-1] + ', "record_count": 2}',
    ]
    for document in bad_documents:
        with pytest.raises(ManifestInvalid) as caught:
            PackageManifest.from_json(document)
        assert "Quintero" not in str(caught.value)


@pytest.mark.interop
def test_partner_tools_verify_a_package(
    tmp_path: Path,
    plaintext: Path,
    identity: X25519Identity,
    signing_key: SigningKey,
    age_bin: str,
) -> None:
    """A partner without our code: ``ssh-keygen -Y verify`` then ``age -d``."""
    paths = make(plaintext, tmp_path / "outbox", identity, signing_key)
    ssh_keygen = shutil.which("ssh-keygen")
    assert ssh_keygen, "ssh-keygen (Debian openssh-client) is required; make test installs it"
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"coc {signing_key.verify_key.openssh}\n")
    verified = subprocess.run(
        [
            ssh_keygen,
            "-Y",
            "verify",
            "-f",
            str(allowed),
            "-I",
            "coc",
            "-n",
            SIGNATURE_NAMESPACE,
            "-s",
            str(paths.signature),
        ],
        input=paths.manifest.read_bytes(),
        capture_output=True,
        check=False,
        timeout=30,
    )
    assert verified.returncode == 0, verified.stderr.decode()
    key = tmp_path / "partner.key"
    key.write_text(f"{identity}\n")
    decrypted = subprocess.run(
        [age_bin, "-d", "-i", str(key), str(paths.age)],
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert decrypted.returncode == 0, decrypted.stderr.decode()
    assert decrypted.stdout == plaintext.read_bytes()


def test_large_package_roundtrip(
    tmp_path: Path, identity: X25519Identity, signing_key: SigningKey
) -> None:
    plain = tmp_path / "big.csv"
    plain.write_bytes(random_payload(5 * 1024 * 1024 + 3))
    paths = make(plain, tmp_path / "outbox", identity, signing_key)
    out = tmp_path / "out.csv"
    verify_and_decrypt(
        paths.age, out, identities=[identity], trusted_signers=[signing_key.verify_key]
    )
    assert out.read_bytes() == plain.read_bytes()
