"""The work area: the one owner of how claimed, refused and kept files are named, and of keys.

Every other module asks this one for a name; none spells a suffix itself. Under the data
root (the whole tree is :mod:`hmis_handoff.layout`)::

    work/                                     0700; plaintext in flight, emptied claim by claim
        <claim id><suffix>                    the claimed file, renamed out of the drop folder
        <claim id>.claim.json                 its sidecar (agency, time, suffix, fingerprint)
        <claim id>.lock                       flock of the process handing it off
        <claim id>.copy<suffix>               our private copy: every pass reads this
        <claim id>.verdict.json               pass 1's decision (row numbers, rule ids)
        <claim id>.attempts.json              failed hand-offs so far
        <claim id>.send.csv / .send.zip       pass 2's plaintext package members
        <claim id>.send.hmis-*                the HMIS CSV set being written
        <claim id>.send.scratch/              the XLSX writer's spill files
        .tmp-<random>-<any of the above>      an atomic write in progress (fsutil)
    quarantine/
        <quarantine id>.refusal.json          why an object was refused (written first)
        <quarantine id>.quarantined[.age]     the refused object; kept only encrypted
        <YYYYMMDD>-<file ref><suffix>.age     a rejected original, encrypted
    archive/
        <YYYYMMDD>-<file ref><suffix>.age     a delivered original, encrypted
    keys/
        record-hmac.key                       random secret, created on first use

Claim and quarantine ids are :func:`new_claim_id`: 32 lower-case hex characters that sort
by time. The date prefix of an encrypted original is the day it was received (retention
counts from it). A name fingerprint is :data:`FINGERPRINT_CHARS` hex characters unkeyed,
:data:`KEYED_FINGERPRINT_CHARS` keyed. Nothing here touches the disk except
:func:`load_or_create_secret`; everything else is name arithmetic.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypedDict

from hmis_handoff.fsutil import TEMP_PREFIX, atomic_writer

__all__ = [
    "CLAIM_ID_RE",
    "CLAIM_LOCK_SUFFIX",
    "CLAIM_SIDECAR_SUFFIX",
    "ENCRYPTED_SUFFIX",
    "FINGERPRINT_CHARS",
    "KEYED_FINGERPRINT_CHARS",
    "QUARANTINE_SUFFIX",
    "RECORD_HMAC_KEY",
    "REFUSAL_SIDECAR_SUFFIX",
    "ClaimFiles",
    "QuarantineFiles",
    "RefusalFacts",
    "claim_id_of",
    "encrypted",
    "is_claim_id",
    "kept_original_day",
    "kept_original_name",
    "load_or_create_secret",
    "name_fingerprint",
    "new_claim_id",
    "quarantine_id_of",
]

CLAIM_SIDECAR_SUFFIX = ".claim.json"
# The hand-off's per-claim flock file (:attr:`ClaimFiles.lock`): never a claim.
CLAIM_LOCK_SUFFIX = ".lock"
REFUSAL_SIDECAR_SUFFIX = ".refusal.json"
QUARANTINE_SUFFIX = ".quarantined"
ENCRYPTED_SUFFIX = ".age"
#: The record HMAC secret's file name in ``keys/`` (:attr:`hmis_handoff.layout.Layout.hmac_key`).
RECORD_HMAC_KEY = "record-hmac.key"
FINGERPRINT_CHARS = 12
KEYED_FINGERPRINT_CHARS = 16

CLAIM_ID_RE = re.compile(r"[0-9a-f]{32}")
_COPY = ".copy"
_VERDICT = ".verdict.json"
_ATTEMPTS = ".attempts.json"
_SEND = ".send."
# An encrypted original: received day, the ledger's 12-hex file ref, its suffix, ".age".
_KEPT_ORIGINAL = re.compile(r"^(?P<day>\d{8})-[0-9a-f]{12}.*" + re.escape(ENCRYPTED_SUFFIX) + "$")


def new_claim_id() -> str:
    """32 hex chars: 48-bit milliseconds then 80 random bits, so ids sort by time."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


def is_claim_id(text: str) -> bool:
    """True if ``text`` is shaped like a claim (or quarantine) id."""
    return CLAIM_ID_RE.fullmatch(text) is not None


def name_fingerprint(name: str | bytes, key: bytes | None = None) -> str:
    """A short stable reference for a file name that does not reveal it.

    With ``key``: HMAC-SHA256(key, name bytes), 16 hex chars; without the key nobody can
    confirm a guessed name, so it may go to Prefect events. Without ``key`` (tests, tools):
    SHA-256 of the name's bytes, 12 hex chars, which anyone can recompute from a guess.
    Raises ``ValueError`` for an empty key.
    """
    raw = name if isinstance(name, bytes) else os.fsencode(name)
    if key is None:
        return hashlib.sha256(raw).hexdigest()[:FINGERPRINT_CHARS]
    if not key:
        raise ValueError("fingerprint key must not be empty")
    return hmac.new(key, raw, hashlib.sha256).hexdigest()[:KEYED_FINGERPRINT_CHARS]


def encrypted(path: Path) -> Path:
    """Where the encrypted form of ``path`` is kept: beside it, ``.age`` appended."""
    return path.with_name(path.name + ENCRYPTED_SUFFIX)


@dataclass(frozen=True)
class ClaimFiles:
    """The names of one claim's files in ``work`` (pure path arithmetic)."""

    work: Path
    claim_id: str

    def file(self, suffix: str) -> Path:
        """The claimed file itself (``suffix`` lower-case with its dot, e.g. ``.csv``)."""
        return self.work / f"{self.claim_id}{suffix}"

    def copy(self, suffix: str) -> Path:
        """Our private copy (the suffix is kept for the reader)."""
        return self.work / f"{self.claim_id}{_COPY}{suffix}"

    @property
    def sidecar(self) -> Path:
        return self.work / f"{self.claim_id}{CLAIM_SIDECAR_SUFFIX}"

    @property
    def lock(self) -> Path:
        return self.work / f"{self.claim_id}{CLAIM_LOCK_SUFFIX}"

    @property
    def verdict(self) -> Path:
        return self.work / f"{self.claim_id}{_VERDICT}"

    @property
    def attempts(self) -> Path:
        return self.work / f"{self.claim_id}{_ATTEMPTS}"

    @property
    def send_csv(self) -> Path:
        return self.work / f"{self.claim_id}{_SEND}csv"

    @property
    def send_zip(self) -> Path:
        return self.work / f"{self.claim_id}{_SEND}zip"

    @property
    def send_scratch(self) -> Path:
        return self.work / f"{self.claim_id}{_SEND}scratch"

    @property
    def send_hmis_prefix(self) -> str:
        """File-name prefix of the HMIS CSV set members written for the package."""
        return f"{self.claim_id}{_SEND}hmis-"

    def listing(self) -> list[str]:
        """The names in ``work`` (one directory read; empty if ``work`` is gone). Pass it
        to :meth:`send_files` and :meth:`temp_files` to answer both from one read."""
        try:
            return os.listdir(self.work)
        except FileNotFoundError:
            return []

    def send_files(self, names: Iterable[str] | None = None) -> list[Path]:
        """Every plaintext file or folder pass 2 wrote for this claim (``<claim>.send.*``),
        found among ``names`` (a :meth:`listing`; read now when None)."""
        prefix = f"{self.claim_id}{_SEND}"
        found = self.listing() if names is None else names
        return [self.work / name for name in found if name.startswith(prefix)]

    def temp_files(self, names: Iterable[str] | None = None) -> list[Path]:
        """Atomic writes of this claim's helper files that a crash left half done
        (``.tmp-*-<claim>.send.*``, ``.tmp-*-<claim>.copy*``, ``.tmp-*-<claim>.verdict.json``),
        found among ``names`` (a :meth:`listing`; read now when None).

        String tests on one listing, not a glob per pattern: ``work`` holds every waiting
        claim's files (thousands in a backlog) and each hand-off asks this (README, Figures).
        """
        marker = f"-{self.claim_id}"
        found = self.listing() if names is None else names
        return [self.work / name for name in found if _is_temp_of(name, marker)]


def _is_temp_of(name: str, marker: str) -> bool:
    """``name`` is ``.tmp-<anything>-<claim>`` followed by a helper file's suffix."""
    if not name.startswith(TEMP_PREFIX):
        return False
    at = name.find(marker, len(TEMP_PREFIX))
    while at != -1:
        rest = name[at + len(marker) :]
        if rest.startswith((_SEND, _COPY)) or rest == _VERDICT:
            return True
        at = name.find(marker, at + 1)
    return False


class RefusalFacts(TypedDict):
    """The ``<quarantine id>.refusal.json`` sidecar: ids, rule, kind and time; no name."""

    quarantine_id: str
    agency_id: str
    reason_rule_id: str
    name_fingerprint: str
    kind: str
    quarantined_at: str


@dataclass(frozen=True)
class QuarantineFiles:
    """The names of one refused object in ``quarantine`` (pure path arithmetic)."""

    quarantine: Path
    quarantine_id: str

    @property
    def sidecar(self) -> Path:
        return self.quarantine / f"{self.quarantine_id}{REFUSAL_SIDECAR_SUFFIX}"

    @property
    def moved(self) -> Path:
        """The refused object itself, as the rename left it (plaintext)."""
        return self.quarantine / f"{self.quarantine_id}{QUARANTINE_SUFFIX}"

    @property
    def kept(self) -> Path:
        """The refused object once encrypted."""
        return encrypted(self.moved)

    @classmethod
    def each(cls, quarantine: Path) -> Iterator[QuarantineFiles]:
        """Every refused object that has a sidecar in ``quarantine`` (none if it is absent)."""
        try:
            with os.scandir(quarantine) as entries:
                names = sorted(entry.name for entry in entries)
        except FileNotFoundError:
            return
        for name in names:
            quarantine_id = quarantine_id_of(name)
            if quarantine_id is not None:
                yield cls(quarantine, quarantine_id)


def claim_id_of(sidecar_name: str) -> str | None:
    """The claim id of a ``<id>.claim.json`` name, or None for any other name."""
    claim_id = sidecar_name.removesuffix(CLAIM_SIDECAR_SUFFIX)
    if claim_id == sidecar_name or not is_claim_id(claim_id):
        return None
    return claim_id


def quarantine_id_of(sidecar_name: str) -> str | None:
    """The quarantine id of a ``<id>.refusal.json`` name, or None for any other name."""
    quarantine_id = sidecar_name.removesuffix(REFUSAL_SIDECAR_SUFFIX)
    if quarantine_id == sidecar_name or not is_claim_id(quarantine_id):
        return None
    return quarantine_id


def kept_original_name(received: date, file_ref: str, suffix: str) -> str:
    """``<YYYYMMDD>-<file ref><suffix>.age``: an original kept encrypted in ``archive/`` or
    ``quarantine/``; ``received`` is the day it arrived, in the CoC's zone."""
    return f"{received:%Y%m%d}-{file_ref}{suffix}{ENCRYPTED_SUFFIX}"


def kept_original_day(name: str) -> date | None:
    """The received day in a :func:`kept_original_name`, or None for any other name."""
    match = _KEPT_ORIGINAL.match(name)
    if match is None:
        return None
    day = match.group("day")
    try:
        return date(int(day[:4]), int(day[4:6]), int(day[6:]))
    except ValueError:
        return None


def load_or_create_secret(path: Path, size: int = 32) -> bytes:
    """A random secret kept in a 0600 file (created on first use, never replaced)."""
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with atomic_writer(path, replace=False) as handle:
        handle.write(secrets.token_bytes(size))
    return path.read_bytes()
