"""A partner package: an age file plus a manifest signed with the CoC's key.

In a partner's outbox a package ``<id>`` is three files::

    <id>.age                 the intake file, age v1 to the partner's recipient(s)
    <id>.manifest.json       ids, counts, hashes, recipient and signer fingerprints; no PII
    <id>.manifest.json.sig   OpenSSH SSHSIG over the manifest bytes, namespace
                             "hmis-handoff-manifest"

They are written in that order, each by temp + fsync + rename, so the signature appearing
is the commit point: a package is complete exactly when its ``.sig`` exists. A partner can
check a manifest without our tools::

    ssh-keygen -Y verify -f allowed_signers -I coc -n hmis-handoff-manifest \\
        -s <id>.manifest.json.sig < <id>.manifest.json

:func:`verify_and_decrypt` checks the signature, then the ciphertext's size and SHA-256,
before it creates any output; it decrypts to a temp file and renames it only after the
final chunk authenticates and the plaintext SHA-256 matches. Each failure has its own
exception class and message.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hmis_handoff.crypto import age, signing
from hmis_handoff.crypto.age import CipherStats, Identity, Recipient
from hmis_handoff.crypto.errors import (
    BadSignature,
    CiphertextMismatch,
    CiphertextTruncated,
    KeyFormatError,
    MalformedSignature,
    ManifestInvalid,
    ManifestTampered,
    PackageConflict,
    PackageError,
    PackageIncomplete,
    PlaintextMismatch,
    SignatureInvalid,
    UntrustedSigner,
    WrongSigner,
)
from hmis_handoff.crypto.signing import SigningKey, VerifyKey
from hmis_handoff.fsutil import atomic_write_bytes, ensure_private_dir, fsync_dir

__all__ = [
    "FORMAT",
    "FORMATS",
    "FORMAT_V2",
    "SIGNATURE_NAMESPACE",
    "PackageManifest",
    "PackagePaths",
    "is_complete",
    "read_manifest",
    "verify_and_decrypt",
    "write_package",
]

FORMAT = "hmis-handoff-package/1"
#: Format 2 adds the ``payload`` field naming the plaintext's layout (see
#: :mod:`hmis_handoff.payload`); format 1 packages (a flat CSV) stay readable.
FORMAT_V2 = "hmis-handoff-package/2"
FORMATS = (FORMAT, FORMAT_V2)
_PAYLOAD = re.compile(r"[a-z0-9][a-z0-9./-]{0,63}")
SIGNATURE_NAMESPACE = "hmis-handoff-manifest"
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_FINGERPRINT = re.compile(r"[0-9a-f]{12}")
_MAX_MANIFEST = 64 * 1024
_HASH_BUFFER = 1 << 20


def _check_id(value: object, field: str) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ManifestInvalid(
            f"manifest field {field} must be 1-128 letters, digits, '.', '_' or '-'"
        )
    return value


def _check_count(value: object, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ManifestInvalid(f"manifest field {field} must be a non-negative integer")
    return value


def _check_sha256(value: object, field: str) -> str:
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        raise ManifestInvalid(f"manifest field {field} must be 64 lowercase hex digits")
    return value


def _utc_seconds(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("created_at must be timezone-aware")
    return moment.astimezone(UTC).replace(microsecond=0)


@dataclass(frozen=True, slots=True)
class PackageManifest:
    """What a package holds and who made it: ids, counts and hashes only, never PII.

    ``recipient_fingerprints`` are :attr:`X25519Recipient.fingerprint` values of the keys the
    file was encrypted to; ``signer`` is the signing key as ``ed25519:<base64>``.
    """

    package_id: str
    agency_id: str
    partner_id: str
    created_at: datetime
    record_count: int
    schema_version: str
    plaintext_sha256: str
    ciphertext_sha256: str
    ciphertext_size: int
    recipient_fingerprints: tuple[str, ...]
    signer: str
    format: str = FORMAT
    payload: str | None = None

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ManifestInvalid(f"the manifest is not in the {FORMAT} or {FORMAT_V2} format")
        if (self.format == FORMAT_V2) != (self.payload is not None):
            raise ManifestInvalid("manifest field payload belongs to format 2 manifests only")
        if self.payload is not None and (
            not isinstance(self.payload, str) or not _PAYLOAD.fullmatch(self.payload)
        ):
            raise ManifestInvalid("manifest field payload must name a payload layout")
        for field in ("package_id", "agency_id", "partner_id", "schema_version"):
            _check_id(getattr(self, field), field)
        _check_count(self.record_count, "record_count")
        _check_count(self.ciphertext_size, "ciphertext_size")
        _check_sha256(self.plaintext_sha256, "plaintext_sha256")
        _check_sha256(self.ciphertext_sha256, "ciphertext_sha256")
        if not isinstance(self.created_at, datetime) or self.created_at.utcoffset() is None:
            raise ManifestInvalid("manifest field created_at must be a timezone-aware time")
        object.__setattr__(self, "created_at", _utc_seconds(self.created_at))
        fingerprints = self.recipient_fingerprints
        if (
            not isinstance(fingerprints, tuple)
            or not fingerprints
            or not all(isinstance(f, str) and _FINGERPRINT.fullmatch(f) for f in fingerprints)
        ):
            raise ManifestInvalid(
                "manifest field recipient_fingerprints must list 12-hex-digit fingerprints"
            )
        try:
            VerifyKey.parse(self.signer)
        except (KeyFormatError, TypeError, AttributeError):
            raise ManifestInvalid("manifest field signer must be an ed25519 public key") from None

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, two-space indent, ASCII, trailing newline)."""
        document: dict[str, Any] = {
            "format": self.format,
            "package_id": self.package_id,
            "agency_id": self.agency_id,
            "partner_id": self.partner_id,
            "created_at": _utc_seconds(self.created_at).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "record_count": self.record_count,
            "schema_version": self.schema_version,
            "plaintext_sha256": self.plaintext_sha256,
            "ciphertext_sha256": self.ciphertext_sha256,
            "ciphertext_size": self.ciphertext_size,
            "recipient_fingerprints": list(self.recipient_fingerprints),
            "signer": self.signer,
        }
        if self.payload is not None:
            document["payload"] = self.payload
        return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=True) + "\n"

    @classmethod
    def from_json(cls, data: str | bytes) -> PackageManifest:
        """Parse and validate a manifest; raises :class:`ManifestInvalid` naming the field."""
        try:
            document = json.loads(data, object_pairs_hook=_no_duplicate_keys)
        except (ValueError, UnicodeDecodeError):
            raise ManifestInvalid("the manifest is not valid JSON") from None
        if not isinstance(document, dict):
            raise ManifestInvalid("the manifest is not a JSON object")
        expected = set(cls.__dataclass_fields__)
        if document.get("format") != FORMAT_V2:
            expected.discard("payload")
        if set(document) != expected:
            missing = sorted(expected - set(document))
            extra = len(set(document) - expected)
            raise ManifestInvalid(
                f"the manifest fields are wrong: missing {missing}, {extra} unexpected"
            )
        created = document["created_at"]
        if not isinstance(created, str) or not re.fullmatch(
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", created
        ):
            raise ManifestInvalid("manifest field created_at must look like 2026-01-31T12:00:00Z")
        try:
            created_at = datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise ManifestInvalid("manifest field created_at is not a valid date") from None
        fingerprints = document["recipient_fingerprints"]
        if not isinstance(fingerprints, list):
            raise ManifestInvalid("manifest field recipient_fingerprints must be a list")
        return cls(
            **{**document, "created_at": created_at, "recipient_fingerprints": tuple(fingerprints)}
        )


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ManifestInvalid("the manifest repeats a field")
    return dict(pairs)


@dataclass(frozen=True, slots=True)
class PackagePaths:
    """The three files of a written package, and its manifest."""

    age: Path
    manifest: Path
    signature: Path
    package_manifest: PackageManifest


def _paths(outbox: Path, package_id: str) -> tuple[Path, Path, Path]:
    if not _ID.fullmatch(package_id):
        raise ValueError("package_id must be 1-128 letters, digits, '.', '_' or '-'")
    return (
        outbox / f"{package_id}.age",
        outbox / f"{package_id}.manifest.json",
        outbox / f"{package_id}.manifest.json.sig",
    )


def is_complete(outbox: Path, package_id: str) -> bool:
    """True if all three files of the package exist (the signature is written last)."""
    return all(path.is_file() for path in _paths(outbox, package_id))


def _read_small(path: Path, what: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read(_MAX_MANIFEST + 1)
    except FileNotFoundError:
        raise PackageIncomplete(f"the package is incomplete: its {what} is missing") from None
    if len(data) > _MAX_MANIFEST:
        raise ManifestInvalid(f"the package {what} is too large")
    return data


def _verified_manifest(
    manifest_path: Path, signature_path: Path, trusted: Sequence[VerifyKey]
) -> PackageManifest:
    data = _read_small(manifest_path, "manifest")
    signature = _read_small(signature_path, "signature")
    try:
        signer = signing.verify_sshsig(data, signature, SIGNATURE_NAMESPACE, trusted)
    except UntrustedSigner as error:
        raise WrongSigner(f"wrong signer: {error}") from None
    except BadSignature:
        raise ManifestTampered(
            "the manifest signature does not verify: the manifest was edited after signing"
        ) from None
    except MalformedSignature as error:
        raise SignatureInvalid(f"the manifest signature file is invalid: {error}") from None
    manifest = PackageManifest.from_json(data)
    if manifest.signer != str(signer):
        raise ManifestInvalid("the manifest names a different signer from the one that signed it")
    return manifest


def read_manifest(package_age: Path, *, trusted_signers: Sequence[VerifyKey]) -> PackageManifest:
    """The verified manifest of the package whose ciphertext is ``package_age``.

    Checks the signature only (not the ciphertext); raises a :class:`PackageError` subclass.
    """
    manifest_path, signature_path = _sibling_paths(package_age)
    manifest = _verified_manifest(manifest_path, signature_path, trusted_signers)
    if f"{manifest.package_id}.age" != package_age.name:
        raise ManifestInvalid("the manifest belongs to another package")
    return manifest


def _sibling_paths(package_age: Path) -> tuple[Path, Path]:
    if not package_age.name.endswith(".age") or not _ID.fullmatch(package_age.name[:-4]):
        raise PackageIncomplete("a package file must be named <package id>.age")
    _, manifest_path, signature_path = _paths(package_age.parent, package_age.name[:-4])
    return manifest_path, signature_path


def _sha256_of(handle: io.FileIO, size_limit: int) -> tuple[str, int]:
    sha = hashlib.sha256()
    buffer = memoryview(bytearray(_HASH_BUFFER))
    total = 0
    while got := handle.readinto(buffer):
        sha.update(buffer[:got])
        total += got
        if total > size_limit:
            break
    return sha.hexdigest(), total


def _check_ciphertext(handle: io.FileIO, manifest: PackageManifest) -> None:
    size = os.fstat(handle.fileno()).st_size
    if size < manifest.ciphertext_size:
        raise CiphertextTruncated(
            f"the ciphertext is truncated: {size} of {manifest.ciphertext_size} bytes"
        )
    if size > manifest.ciphertext_size:
        raise CiphertextMismatch(
            f"the ciphertext has {size - manifest.ciphertext_size} bytes more than the manifest "
            "says: it was tampered with or replaced"
        )
    digest, read = _sha256_of(handle, manifest.ciphertext_size)
    if read != manifest.ciphertext_size or digest != manifest.ciphertext_sha256:
        raise CiphertextMismatch(
            "the ciphertext's SHA-256 does not match the manifest: it was tampered with or replaced"
        )
    handle.seek(0)


def verify_and_decrypt(
    package_age: Path,
    out: Path,
    *,
    identities: Sequence[Identity],
    trusted_signers: Sequence[VerifyKey],
    overwrite: bool = False,
) -> PackageManifest:
    """Verify the package whose ciphertext is ``package_age`` and decrypt it to ``out``.

    Order: the signature over the manifest (:class:`SignatureInvalid`, :class:`WrongSigner`,
    :class:`ManifestTampered`, :class:`ManifestInvalid`), then the ciphertext size and
    SHA-256 (:class:`CiphertextTruncated`, :class:`CiphertextMismatch`), all before any output
    exists; then decryption (:class:`~hmis_handoff.crypto.age.NoIdentityMatch` for a wrong
    key, other :class:`~hmis_handoff.crypto.age.AgeError` subclasses) to a temp file that is
    renamed to ``out`` only if the plaintext SHA-256 matches (:class:`PlaintextMismatch`).
    On any failure no output file and no temp file remain. Without ``overwrite`` an existing
    ``out`` raises ``FileExistsError`` before anything else.
    """
    if not overwrite and os.path.lexists(out):
        raise FileExistsError("the output file already exists")
    manifest = read_manifest(package_age, trusted_signers=trusted_signers)
    try:
        handle = open(package_age, "rb", buffering=0)  # noqa: SIM115 - closed below
    except FileNotFoundError:
        raise PackageIncomplete("the package is incomplete: its ciphertext is missing") from None
    with handle:
        _check_ciphertext(handle, manifest)

        def check_plaintext(stats: CipherStats) -> None:
            if stats.ciphertext_sha256 != manifest.ciphertext_sha256:
                raise CiphertextMismatch("the ciphertext changed while it was being decrypted")
            if stats.plaintext_sha256 != manifest.plaintext_sha256:
                raise PlaintextMismatch(
                    "the decrypted file's SHA-256 does not match the manifest: "
                    "it is not the file that was signed"
                )

        age.decrypt_to_file(
            handle,
            out,
            identities,
            overwrite=overwrite,
            armored=False,
            before_commit=check_plaintext,
        )
    return manifest


def _existing(paths: tuple[Path, Path, Path], verify_key: VerifyKey) -> PackageManifest | None:
    """The manifest of a complete package that verifies with ``verify_key``, else None."""
    age_path, manifest_path, signature_path = paths
    if not all(path.is_file() for path in paths):
        return None
    try:
        manifest = _verified_manifest(manifest_path, signature_path, [verify_key])
        with open(age_path, "rb", buffering=0) as handle:
            _check_ciphertext(handle, manifest)
    except PackageError:
        return None
    return manifest


def write_package(
    plaintext: Path,
    outbox: Path,
    *,
    package_id: str,
    agency_id: str,
    partner_id: str,
    record_count: int,
    schema_version: str,
    recipients: Sequence[Recipient],
    signing_key: SigningKey,
    created_at: datetime,
    payload: str | None = None,
) -> PackagePaths:
    """Encrypt ``plaintext`` into package ``package_id`` in ``outbox`` and sign its manifest.

    Writes the ciphertext, then the manifest, then the signature (the commit point), each
    durably. Idempotent: if a complete package with this id already verifies under
    ``signing_key`` (signature, ciphertext size and SHA-256), it is returned untouched; if
    that package's ids, count, schema or recipients differ from this request,
    :class:`PackageConflict` is raised instead. An incomplete or unverifiable package is
    rewritten from scratch, its old signature removed first. ``package_id`` is the
    idempotency key: the plaintext of an existing package is not compared. Invalid
    arguments (ids, a naive ``created_at``, no recipients) raise ``ValueError``.
    With ``payload`` (a layout name) the manifest is format 2 and records it.
    """
    paths = _paths(outbox, package_id)
    age_path, manifest_path, signature_path = paths
    fingerprints = tuple(r.fingerprint for r in recipients)
    try:
        request = PackageManifest(
            package_id=package_id,
            agency_id=agency_id,
            partner_id=partner_id,
            created_at=_utc_seconds(created_at),
            record_count=record_count,
            schema_version=schema_version,
            plaintext_sha256="0" * 64,
            ciphertext_sha256="0" * 64,
            ciphertext_size=0,
            recipient_fingerprints=fingerprints,
            signer=str(signing_key.verify_key),
            format=FORMAT if payload is None else FORMAT_V2,
            payload=payload,
        )
    except ManifestInvalid as error:
        raise ValueError(str(error).replace("manifest field", "argument")) from None
    ensure_private_dir(outbox)
    existing = _existing(paths, signing_key.verify_key)
    if existing is not None:
        same = (
            existing.agency_id,
            existing.partner_id,
            existing.record_count,
            existing.schema_version,
            sorted(existing.recipient_fingerprints),
        ) == (agency_id, partner_id, record_count, schema_version, sorted(fingerprints))
        if not same:
            raise PackageConflict(
                "a different package with this id is already in the outbox; not replacing it"
            )
        return PackagePaths(age_path, manifest_path, signature_path, existing)
    if os.path.lexists(signature_path):
        signature_path.unlink()
        fsync_dir(outbox)
    stats = age.encrypt_file(plaintext, age_path, recipients, overwrite=True)
    manifest = dataclasses.replace(
        request,
        plaintext_sha256=stats.plaintext_sha256,
        ciphertext_sha256=stats.ciphertext_sha256,
        ciphertext_size=stats.ciphertext_size,
    )
    data = manifest.to_json().encode("ascii")
    atomic_write_bytes(manifest_path, data)
    atomic_write_bytes(signature_path, signing_key.sign_sshsig(data, SIGNATURE_NAMESPACE))
    return PackagePaths(age_path, manifest_path, signature_path, manifest)
