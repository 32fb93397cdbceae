"""The C2SP CCTV age test vectors, read from ../shared/testdata/age-cctv at test time.

Every ``success`` vector must decrypt to its ``payload`` hash; every other vector must fail
with the exception class mapped from its ``expect`` value, and where the vector records the
plaintext released before the failure, our released bytes must hash to it too.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hmis_handoff.crypto.age import (
    AgeError,
    ArmorError,
    HeaderError,
    HeaderMacError,
    Identity,
    NoIdentityMatch,
    PayloadError,
    ScryptIdentity,
    decrypt,
    parse_identity,
)

from .conftest import SHARED_TESTDATA, HashSink

VECTOR_DIR = SHARED_TESTDATA / "age-cctv"
EXPECTED_VECTOR_COUNT = 143

EXPECT_TO_ERROR: dict[str, type[AgeError] | None] = {
    "success": None,
    "no match": NoIdentityMatch,
    "HMAC failure": HeaderMacError,
    "header failure": HeaderError,
    "payload failure": PayloadError,
    "armor failure": ArmorError,
}

# Vectors we do not run, with the reason. Asserted exactly, so a new vector in a feature we
# lack fails the suite instead of disappearing into a skip.
SKIPPED: dict[str, str] = {}


@dataclass
class Vector:
    name: str
    expect: str
    payload: str | None = None
    identities: list[str] = field(default_factory=list)
    passphrases: list[str] = field(default_factory=list)
    armored: bool = False
    compressed: bool = False
    body: bytes = b""


def load_vector(path: Path) -> Vector:
    raw = path.read_bytes()
    head, _, body = raw.partition(b"\n\n")
    vector = Vector(name=path.name, expect="")
    for line in head.decode("utf-8").splitlines():
        key, _, value = line.partition(": ")
        if key == "expect":
            vector.expect = value
        elif key == "payload":
            vector.payload = value
        elif key == "identity":
            vector.identities.append(value)
        elif key == "passphrase":
            vector.passphrases.append(value)
        elif key == "armored":
            vector.armored = value == "yes"
        elif key == "compressed":
            assert value == "zlib", f"{path.name}: unknown compression {value}"
            vector.compressed = True
        elif key not in ("file key", "comment"):
            raise AssertionError(f"{path.name}: unknown vector header {key!r}")
    vector.body = zlib.decompress(body) if vector.compressed else body
    return vector


def vector_paths() -> list[Path]:
    if not VECTOR_DIR.is_dir():
        return []
    return sorted(p for p in VECTOR_DIR.iterdir() if p.is_file() and p.name != "SOURCE.md")


def test_vector_inventory() -> None:
    names = [p.name for p in vector_paths()]
    assert VECTOR_DIR.is_dir(), f"test vectors not found at {VECTOR_DIR}"
    assert len(names) == EXPECTED_VECTOR_COUNT
    assert {load_vector(p).expect for p in vector_paths()} <= set(EXPECT_TO_ERROR)
    assert set(SKIPPED) <= set(names)
    assert SKIPPED == {}, "every vector runs: X25519, hybrid, scrypt and armor are supported"


@pytest.mark.parametrize("path", vector_paths(), ids=lambda p: p.name)
def test_vector(path: Path) -> None:
    vector = load_vector(path)
    if vector.name in SKIPPED:
        pytest.skip(SKIPPED[vector.name])
    identities: list[Identity] = [parse_identity(s) for s in vector.identities]
    identities += [ScryptIdentity(p) for p in vector.passphrases]
    expected_error = EXPECT_TO_ERROR[vector.expect]
    sink = HashSink()
    try:
        decrypt(io.BytesIO(vector.body), sink, identities, armored=vector.armored)
    except AgeError as error:
        assert expected_error is not None, f"unexpected {type(error).__name__}: {error}"
        assert type(error) is expected_error, f"got {type(error).__name__}: {error}"
    else:
        assert expected_error is None, f"decrypted, but expected {vector.expect}"
    if vector.payload is not None:
        assert sink.hexdigest() == vector.payload, "released plaintext differs"
