"""Shared fixtures for the crypto tests: throwaway keys, random data, the Debian age tool."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from hmis_handoff.crypto.age import X25519Identity
from hmis_handoff.crypto.signing import SigningKey

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_TESTDATA = REPO_ROOT.parent / "shared" / "testdata"
AGE_BIN = Path("/usr/bin/age")
AGE_KEYGEN_BIN = Path("/usr/bin/age-keygen")
KIB = 1024
MIB = 1024 * KIB


class HashSink:
    """A write-only binary sink that keeps only the SHA-256 and length of what it was given."""

    def __init__(self) -> None:
        self._sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes | memoryview) -> int:
        self._sha.update(data)
        self.size += len(data)
        return len(data)

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


def random_payload(size: int, seed: int = 0) -> bytes:
    """Deterministic pseudo-random bytes (fast, reproducible across runs)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha512(f"{seed}:{counter}".encode()).digest() * 64
        counter += 1
    return bytes(out[:size])


@pytest.fixture
def identity() -> X25519Identity:
    return X25519Identity.generate()


@pytest.fixture
def other_identity() -> X25519Identity:
    return X25519Identity.generate()


@pytest.fixture
def signing_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def age_bin() -> Iterator[str]:
    """Path of Debian's age binary (required: tests/conftest.py checks it before the run)."""
    found = AGE_BIN if AGE_BIN.exists() else shutil.which("age")
    assert found, "the age command (Debian package 'age') is required; make test installs it"
    yield str(found)


@pytest.fixture
def age_keygen_bin() -> Iterator[str]:
    found = AGE_KEYGEN_BIN if AGE_KEYGEN_BIN.exists() else shutil.which("age-keygen")
    assert found, "age-keygen (Debian package 'age') is required; make test installs it"
    yield str(found)


def leftovers(directory: Path) -> list[str]:
    """Names in ``directory`` other than the given inputs: temp files or stray outputs."""
    return sorted(p.name for p in directory.iterdir())


__all__ = ["KIB", "MIB", "SHARED_TESTDATA", "HashSink", "leftovers", "os", "random_payload"]
