"""Interop both ways with Debian's ``age`` 1.1.1 (Go): ours → ``age -d``, ``age -e`` → ours.

Skips, saying why, only when the ``age`` command is missing; CI installs it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hmis_handoff.crypto.age import (
    NoIdentityMatch,
    X25519Identity,
    decrypt_file,
    encrypt_file,
    parse_identities_file,
    write_identity_file,
)
from hmis_handoff.crypto.stream import CHUNK_SIZE

from .conftest import MIB, random_payload

pytestmark = pytest.mark.interop

SIZES = [
    0,
    1,
    CHUNK_SIZE - 1,
    CHUNK_SIZE,
    CHUNK_SIZE + 1,
    2 * CHUNK_SIZE,
    MIB,
    3 * MIB + 7,
]


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(args, input=stdin, capture_output=True, timeout=120, check=False)


def key_file(tmp_path: Path, identity: X25519Identity, name: str = "key.txt") -> Path:
    path = tmp_path / name
    write_identity_file(path, identity, comment_lines=["test key"])
    return path


@pytest.mark.parametrize("size", SIZES)
def test_ours_to_age(tmp_path: Path, age_bin: str, identity: X25519Identity, size: int) -> None:
    data = random_payload(size, seed=size)
    plain = tmp_path / "plain.bin"
    plain.write_bytes(data)
    sealed = tmp_path / "plain.bin.age"
    stats = encrypt_file(plain, sealed, [identity.recipient])
    assert stats.ciphertext_size == sealed.stat().st_size
    result = run(age_bin, "-d", "-i", str(key_file(tmp_path, identity)), str(sealed))
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == data


@pytest.mark.parametrize("size", SIZES)
def test_age_to_ours(tmp_path: Path, age_bin: str, identity: X25519Identity, size: int) -> None:
    data = random_payload(size, seed=size + 1)
    sealed = tmp_path / "file.age"
    result = run(age_bin, "-e", "-r", str(identity.recipient), "-o", str(sealed), stdin=data)
    assert result.returncode == 0, result.stderr.decode()
    out = tmp_path / "out.bin"
    stats = decrypt_file(sealed, out, [identity])
    assert out.read_bytes() == data
    assert stats.plaintext_size == size
    assert stats.ciphertext_size == sealed.stat().st_size


def test_age_armored_to_ours(tmp_path: Path, age_bin: str, identity: X25519Identity) -> None:
    data = random_payload(200_000, seed=7)
    sealed = tmp_path / "file.age.txt"
    result = run(age_bin, "-e", "-a", "-r", str(identity.recipient), "-o", str(sealed), stdin=data)
    assert result.returncode == 0, result.stderr.decode()
    assert sealed.read_bytes().startswith(b"-----BEGIN AGE ENCRYPTED FILE-----")
    out = tmp_path / "out.bin"
    decrypt_file(sealed, out, [identity])
    assert out.read_bytes() == data


def test_two_recipients_both_ways(
    tmp_path: Path, age_bin: str, identity: X25519Identity, other_identity: X25519Identity
) -> None:
    data = random_payload(150_000, seed=3)
    plain = tmp_path / "plain.bin"
    plain.write_bytes(data)
    ours = tmp_path / "ours.age"
    encrypt_file(plain, ours, [identity.recipient, other_identity.recipient])
    for who, name in ((identity, "a.txt"), (other_identity, "b.txt")):
        result = run(age_bin, "-d", "-i", str(key_file(tmp_path, who, name)), str(ours))
        assert result.returncode == 0, result.stderr.decode()
        assert result.stdout == data
    theirs = tmp_path / "theirs.age"
    result = run(
        age_bin,
        "-e",
        "-r",
        str(identity.recipient),
        "-r",
        str(other_identity.recipient),
        "-o",
        str(theirs),
        stdin=data,
    )
    assert result.returncode == 0, result.stderr.decode()
    out = tmp_path / "out.bin"
    decrypt_file(theirs, out, [other_identity])
    assert out.read_bytes() == data


def test_wrong_identity_both_ways(
    tmp_path: Path, age_bin: str, identity: X25519Identity, other_identity: X25519Identity
) -> None:
    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"First,Last\nAna,Example\n")
    ours = tmp_path / "ours.age"
    encrypt_file(plain, ours, [identity.recipient])
    result = run(age_bin, "-d", "-i", str(key_file(tmp_path, other_identity)), str(ours))
    assert result.returncode != 0
    assert b"no identity matched" in result.stderr
    assert result.stdout == b""
    theirs = tmp_path / "theirs.age"
    result = run(age_bin, "-e", "-r", str(identity.recipient), "-o", str(theirs), stdin=b"x")
    assert result.returncode == 0
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(NoIdentityMatch):
        decrypt_file(theirs, out_dir / "out.bin", [other_identity])
    assert list(out_dir.iterdir()) == []


def test_tampered_ours_is_rejected_by_age(
    tmp_path: Path, age_bin: str, identity: X25519Identity
) -> None:
    plain = tmp_path / "plain.bin"
    plain.write_bytes(random_payload(100_000))
    sealed = tmp_path / "file.age"
    encrypt_file(plain, sealed, [identity.recipient])
    data = bytearray(sealed.read_bytes())
    data[-100] ^= 1
    sealed.write_bytes(bytes(data))
    result = run(age_bin, "-d", "-i", str(key_file(tmp_path, identity)), str(sealed))
    assert result.returncode != 0


def test_key_files_both_ways(tmp_path: Path, age_bin: str, age_keygen_bin: str) -> None:
    theirs = tmp_path / "theirs.txt"
    assert run(age_keygen_bin, "-o", str(theirs)).returncode == 0
    (their_identity,) = parse_identities_file(theirs)
    assert isinstance(their_identity, X25519Identity)
    public = run(age_keygen_bin, "-y", str(theirs)).stdout.decode().strip()
    assert str(their_identity.recipient) == public

    ours = tmp_path / "ours.txt"
    identity = X25519Identity.generate()
    write_identity_file(ours, identity)
    assert (ours.stat().st_mode & 0o777) == 0o600
    text = ours.read_text()
    assert text.startswith("# created: ")
    assert f"# public key: {identity.recipient}\n" in text
    assert run(age_keygen_bin, "-y", str(ours)).stdout.decode().strip() == str(identity.recipient)
