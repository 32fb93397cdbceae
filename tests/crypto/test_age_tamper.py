"""Damaged, truncated, padded or re-keyed files: each fails with its own error, no output left.

Every case goes through :func:`decrypt_file`, which must leave neither the output file nor a
temp file behind. The layout used: a header, a 16-byte nonce, then sealed chunks of
64 KiB + 16 bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hmis_handoff.crypto.age import (
    AgeError,
    HeaderError,
    HeaderMacError,
    NoIdentityMatch,
    PayloadError,
    X25519Identity,
    decrypt_file,
    encrypt_file,
)
from hmis_handoff.crypto.stream import CHUNK_SIZE, SEALED_CHUNK_SIZE

from .conftest import random_payload

Edit = Callable[[bytearray, int], bytearray]


def payload_start(sealed: bytes) -> int:
    """Offset of the first chunk: after the MAC line and the 16-byte nonce."""
    mac_line = sealed.index(b"\n---") + 1
    return sealed.index(b"\n", mac_line) + 1 + 16


def flip(offset_of: Callable[[bytearray, int], int]) -> Edit:
    def edit(data: bytearray, start: int) -> bytearray:
        data[offset_of(data, start)] ^= 0x01
        return data

    return edit


def truncate_at(offset_of: Callable[[bytearray, int], int]) -> Edit:
    return lambda data, start: data[: offset_of(data, start)]


def swap_first_chunks(data: bytearray, start: int) -> bytearray:
    first = data[start : start + SEALED_CHUNK_SIZE]
    second = data[start + SEALED_CHUNK_SIZE : start + 2 * SEALED_CHUNK_SIZE]
    data[start : start + 2 * SEALED_CHUNK_SIZE] = second + first
    return data


def change_base64_after(marker: bytes) -> Edit:
    """Replace the 4th base64 character after ``marker`` with another valid one."""

    def edit(data: bytearray, start: int) -> bytearray:
        offset = data.index(marker) + len(marker) + 3
        data[offset] = ord("B") if data[offset] == ord("A") else ord("A")
        return data

    return edit


# (name, plaintext size, edit, error class, message pattern)
CASES: list[tuple[str, int, Edit, type[AgeError], str]] = [
    ("header version", 200_000, flip(lambda d, s: 5), HeaderError, "not an age file"),
    ("header share", 200_000, change_base64_after(b"-> X25519 "), NoIdentityMatch, "another key"),
    ("header mac", 200_000, change_base64_after(b"\n--- "), HeaderMacError, "header was modified"),
    (
        "mid chunk",
        200_000,
        flip(lambda d, s: s + SEALED_CHUNK_SIZE + 1000),
        PayloadError,
        "chunk 1 failed to authenticate",
    ),
    (
        "last tag",
        200_000,
        flip(lambda d, s: len(d) - 1),
        PayloadError,
        "chunk 3 failed to authenticate",
    ),
    (
        "truncated at chunk boundary",
        200_000,
        truncate_at(lambda d, s: s + 2 * SEALED_CHUNK_SIZE),
        PayloadError,
        "ends before the final chunk",
    ),
    (
        "truncated at boundary - 1",
        200_000,
        truncate_at(lambda d, s: s + 2 * SEALED_CHUNK_SIZE - 1),
        PayloadError,
        "chunk 1 failed to authenticate",
    ),
    (
        "truncated inside a tag",
        10,
        truncate_at(lambda d, s: s + 9),
        PayloadError,
        "last chunk is incomplete",
    ),
    (
        "truncated after the nonce",
        10,
        truncate_at(lambda d, s: s),
        PayloadError,
        "no payload after the header",
    ),
    (
        "truncated inside the nonce",
        10,
        truncate_at(lambda d, s: s - 3),
        HeaderError,
        "nonce is missing",
    ),
    (
        "truncated inside the header",
        10,
        truncate_at(lambda d, s: 40),
        HeaderError,
        "truncated|ends before",
    ),
    (
        "appended byte after short final chunk",
        200_000,
        lambda d, s: d + b"\x00",
        PayloadError,
        "chunk 3 failed to authenticate",
    ),
    (
        "appended byte after full final chunk",
        3 * CHUNK_SIZE,
        lambda d, s: d + b"\x00",
        PayloadError,
        "unexpected data after the final chunk",
    ),
    (
        "appended chunk",
        2 * CHUNK_SIZE,
        lambda d, s: d + d[s + SEALED_CHUNK_SIZE :],
        PayloadError,
        "unexpected data after the final chunk",
    ),
    ("swapped chunks", 200_000, swap_first_chunks, PayloadError, "chunk 0 failed to authenticate"),
    ("empty file", 10, truncate_at(lambda d, s: 0), HeaderError, "not an age file"),
]


@pytest.mark.parametrize(
    ("size", "edit", "error", "message"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_tampering_fails_cleanly(
    tmp_path: Path,
    identity: X25519Identity,
    size: int,
    edit: Edit,
    error: type[AgeError],
    message: str,
) -> None:
    plain = tmp_path / "in" / "plain.csv"
    plain.parent.mkdir()
    data = random_payload(size, seed=size)
    plain.write_bytes(data)
    sealed = tmp_path / "in" / "file.age"
    encrypt_file(plain, sealed, [identity.recipient])
    original = sealed.read_bytes()
    sealed.write_bytes(bytes(edit(bytearray(original), payload_start(original))))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(error, match=message) as caught:
        decrypt_file(sealed, out_dir / "plain.csv", [identity])
    assert type(caught.value) is error
    assert list(out_dir.iterdir()) == [], "no output and no temp file may remain"
    assert data[:64] not in str(caught.value).encode(errors="replace")


def test_wrong_key_leaves_nothing(
    tmp_path: Path, identity: X25519Identity, other_identity: X25519Identity
) -> None:
    plain = tmp_path / "plain.csv"
    plain.write_bytes(b"First,Last\nAna,Example\n")
    sealed = tmp_path / "file.age"
    encrypt_file(plain, sealed, [identity.recipient])
    out = tmp_path / "out" / "plain.csv"
    out.parent.mkdir()
    with pytest.raises(NoIdentityMatch, match="encrypted to another key"):
        decrypt_file(sealed, out, [other_identity])
    assert list(out.parent.iterdir()) == []


def test_existing_output_is_never_replaced(tmp_path: Path, identity: X25519Identity) -> None:
    plain = tmp_path / "plain.csv"
    plain.write_bytes(b"x")
    sealed = tmp_path / "file.age"
    encrypt_file(plain, sealed, [identity.recipient])
    with pytest.raises(FileExistsError):
        encrypt_file(plain, sealed, [identity.recipient])
    out = tmp_path / "out.csv"
    out.write_bytes(b"keep me")
    with pytest.raises(FileExistsError):
        decrypt_file(sealed, out, [identity])
    assert out.read_bytes() == b"keep me"
    decrypt_file(sealed, out, [identity], overwrite=True)
    assert out.read_bytes() == b"x"
    assert (out.stat().st_mode & 0o777) == 0o600
    assert (sealed.stat().st_mode & 0o777) == 0o600
