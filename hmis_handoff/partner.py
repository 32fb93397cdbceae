"""The data partner's side: ``handoff decrypt`` (verify the signed manifest, then decrypt).

Trust: only signing keys pinned on the partner's side (:mod:`hmis_handoff.signers`):
``--signer`` values, the partner's known signers file, and ``state/signing.pub`` of the
configuration named by ``--config`` or ``$HANDOFF_CONFIG`` (never a ``./handoff.toml``
found by chance). A key lying next to a package is never trusted.

Each failure has its own message: the package file is missing, the identity file is
missing or is the wrong key, the signer is not trusted, or the package was tampered with.
Nothing is written unless the signature, the ciphertext hash and every chunk verify.

Outputs (each refused if the target exists, written temp + rename, mode 0600):

* ``out``: the intake rows as ``.csv`` (UTF-8 with BOM) or ``.xlsx`` (every cell text);
* ``worklist``: the worklist CSV; ``hmis_csv``: a new folder with the HMIS CSV set;
  ``confirmation_sheet``: the prefilled sheet, ``.csv`` or ``.xlsx``.

Format-1 packages (a flat CSV, no worklist inside) still decrypt to ``out``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

from hmis_handoff.config import CONFIG_ENV, load_settings
from hmis_handoff.crypto.age import parse_identities_file
from hmis_handoff.crypto.errors import (
    AgeError,
    CiphertextMismatch,
    ManifestTampered,
    NoIdentityMatch,
    PlaintextMismatch,
    SignatureInvalid,
    WrongSigner,
)
from hmis_handoff.crypto.package import PackageManifest, verify_and_decrypt
from hmis_handoff.crypto.signing import VerifyKey
from hmis_handoff.errors import (
    ConfigError,
    HandoffError,
    PackageNotFound,
    SignerNotPinned,
    Tampered,
    WrongKey,
)
from hmis_handoff.fsutil import atomic_writer, ensure_private_dir
from hmis_handoff.layout import Layout
from hmis_handoff.payload import (
    CONFIRMATION_CSV,
    CONFIRMATION_XLSX,
    INTAKE,
    WORKLIST,
    Payload,
)
from hmis_handoff.signers import (
    Pins,
    fingerprint_of,
    pins_from_values,
    read_known_signers,
)
from hmis_handoff.text_xlsx import write_text_xlsx
from hmis_handoff.worklist import WorklistRow, format_worklist, read_worklist

__all__ = ["DecryptRequest", "csv_to_text_xlsx", "decrypt_package", "trusted_pins"]

_MAX_MANIFEST = 64 * 1024


@dataclass(frozen=True)
class DecryptRequest:
    """What to write; every path optional (the worklist is always printed)."""

    out: Path | None = None
    worklist: Path | None = None
    hmis_csv: Path | None = None
    confirmation_sheet: Path | None = None


def trusted_pins(
    signers: list[str] | None, config: Path | None, known_signers: Path | None = None
) -> Pins:
    """Every pin the partner holds (see the module docstring); raises ConfigError if none."""
    pins = pins_from_values(signers or [])
    pins.add(read_known_signers(known_signers))
    # Only a configuration named on purpose (--config or $HANDOFF_CONFIG): a handoff.toml
    # that happens to sit in the working directory could have been planted with a package.
    named = config or os.environ.get(CONFIG_ENV)
    try:
        settings = load_settings(named) if named else None
    except ConfigError:
        settings = None
    if settings is not None:
        pub = Layout(settings.root).signing_public_key
        if pub.is_file():
            pins.add(pins_from_values([str(pub)]))
    if not pins:
        raise ConfigError(
            "no trusted CoC signing key: pass --signer SHA256:... (the fingerprint the CoC "
            "read to you) or keep it in your known signers file"
        )
    return pins


def _named_signer(package: Path) -> VerifyKey | None:
    """The key the (unverified) manifest names; only used to match a fingerprint pin."""
    manifest = package.with_name(package.name[: -len(".age")] + ".manifest.json")
    try:
        with open(manifest, "rb") as handle:
            document = json.loads(handle.read(_MAX_MANIFEST))
        return VerifyKey.parse(str(document["signer"]))
    except (OSError, ValueError, KeyError, TypeError, HandoffError):
        return None


def _check_outputs(request: DecryptRequest) -> None:
    for path in (request.out, request.worklist, request.confirmation_sheet, request.hmis_csv):
        if path is not None and os.path.lexists(path):
            raise HandoffError(f"{path} exists; refusing to overwrite it")
    for path in (request.out, request.confirmation_sheet):
        if path is not None and path.suffix.lower() not in (".csv", ".xlsx"):
            raise HandoffError(f"{path}: the output must end in .csv or .xlsx")


def _check_inputs(package: Path, identity: Path) -> None:
    if not package.is_file():
        raise PackageNotFound(f"no package file at {package} (check the path)")
    if not identity.is_file():
        raise HandoffError(f"no identity file at {identity} (your age key, from handoff keygen)")


def _verify_decrypt(package: Path, plain: Path, identity: Path, pins: Pins) -> PackageManifest:
    _check_inputs(package, identity)
    identities = parse_identities_file(identity)
    trusted = pins.trusted_for(_named_signer(package))
    try:
        return verify_and_decrypt(package, plain, identities=identities, trusted_signers=trusted)
    except WrongSigner as exc:
        raise SignerNotPinned(
            f"untrusted signer: {str(exc).removeprefix('wrong signer: ')}; you have not pinned "
            "it: compare it with the fingerprint the CoC read to you before trusting it"
        ) from None
    except (ManifestTampered, CiphertextMismatch, PlaintextMismatch, SignatureInvalid) as exc:
        raise Tampered(f"the package was tampered with or damaged: {exc}") from None
    except NoIdentityMatch:
        raise WrongKey(
            "wrong key: this package was not encrypted to your identity "
            "(check -i, or ask the CoC which public key they have for you)"
        ) from None
    except AgeError as exc:
        raise Tampered(f"the package was tampered with or damaged: {exc}") from None


@contextlib.contextmanager
def _private_tempdir() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="handoff-decrypt-"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _write_stream(target: Path, source: IO[bytes], prefix: bytes = b"") -> None:
    with atomic_writer(target, replace=False) as sink:
        sink.write(prefix)
        shutil.copyfileobj(source, sink, 1 << 20)


def csv_to_text_xlsx(source: IO[bytes], target: Path, sheet_title: str, scratch: Path) -> None:
    """Every cell as text: no numbers, dates or formulas; leading zeros and accents kept."""
    text = io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
    with atomic_writer(target, replace=False) as sink:
        write_text_xlsx(sink, csv.reader(text), sheet_title=sheet_title, scratch=scratch)
    text.detach()


def _write_intake(source: IO[bytes], target: Path, *, has_bom: bool, scratch: Path) -> None:
    if target.suffix.lower() == ".xlsx":
        csv_to_text_xlsx(source, target, "Intakes", scratch)
    else:
        _write_stream(target, source, b"" if has_bom else b"\xef\xbb\xbf")


def _lines(manifest: PackageManifest, signer: str, timezone: str | None) -> list[str]:
    created = manifest.created_at
    shown = created.astimezone(ZoneInfo(timezone)) if timezone else created
    return [
        f"verified: signed by the CoC key {signer}",
        f"package {manifest.package_id}: {manifest.record_count} record(s) from agency "
        f"{manifest.agency_id}, packaged {shown:%m/%d/%Y %H:%M %Z}",
    ]


def decrypt_package(
    package: Path,
    *,
    identity: Path,
    request: DecryptRequest,
    signers: list[str] | None = None,
    config: Path | None = None,
    known_signers: Path | None = None,
) -> list[str]:
    """Verify and decrypt; returns lines for the partner (the worklist among them).

    Raises :class:`HandoffError` (a subclass naming the failure) before writing anything.
    """
    _check_outputs(request)
    _check_inputs(package, identity)  # a wrong path is named as such, whatever the pins
    pins = trusted_pins(signers, config, known_signers)
    with _private_tempdir() as scratch:
        plain = scratch / "payload"
        manifest = _verify_decrypt(package, plain, identity, pins)
        signer = fingerprint_of(VerifyKey.parse(manifest.signer))
        if manifest.payload is None:
            return [*_lines(manifest, signer, None), *_write_v1(plain, request, scratch)]
        with Payload(plain) as payload:
            info = payload.info()
            lines = _lines(manifest, signer, info.timezone)
            rows = read_worklist(payload.read(WORKLIST))
            lines += _write_v2(payload, request, scratch)
        lines += ["", f"worklist (dates in {info.timezone}; most urgent first):"]
        lines += format_worklist(rows) if rows else ["(no records)"]
        lines += _summary(rows)
    return lines


def _summary(rows: list[WorklistRow]) -> list[str]:
    overdue = sum(1 for r in rows if r.business_days_left < 0)
    today = sum(1 for r in rows if r.business_days_left == 0)
    return [f"{len(rows)} to enter: {today} due today, {overdue} already overdue when packaged"]


def _write_v1(plain: Path, request: DecryptRequest, scratch: Path) -> list[str]:
    lines = []
    if request.out is not None:
        with open(plain, "rb") as source:
            _write_intake(source, request.out, has_bom=False, scratch=scratch)
        lines.append(f"wrote {request.out}")
    if request.worklist or request.hmis_csv or request.confirmation_sheet:
        lines.append(
            "this package is in the older format 1 (intake CSV only): it has no worklist, "
            "HMIS CSV set or confirmation sheet"
        )
    return lines


def _write_v2(payload: Payload, request: DecryptRequest, scratch: Path) -> list[str]:
    lines = []
    if request.out is not None:
        with payload.open(INTAKE) as source:
            _write_intake(source, request.out, has_bom=True, scratch=scratch)
        lines.append(f"wrote {request.out}")
    if request.worklist is not None:
        with payload.open(WORKLIST) as source:
            _write_stream(request.worklist, source)
        lines.append(f"wrote the worklist to {request.worklist}")
    if request.confirmation_sheet is not None:
        xlsx = request.confirmation_sheet.suffix.lower() == ".xlsx"
        with payload.open(CONFIRMATION_XLSX if xlsx else CONFIRMATION_CSV) as source:
            _write_stream(request.confirmation_sheet, source)
        lines.append(f"wrote the confirmation sheet to {request.confirmation_sheet}")
    if request.hmis_csv is not None:
        target = ensure_private_dir(request.hmis_csv)
        for name in payload.hmis_members():
            with payload.open(name) as source:
                _write_stream(target / name.rsplit("/", 1)[-1], source)
        lines.append(f"wrote the HMIS CSV set (FY2026) to {request.hmis_csv}")
    return lines
