"""The handoff of one claimed file, as plain functions: read, validate, package, report, record.

Contract (see DESIGN.md, non-negotiables 1-4):

* Every step is idempotent and keyed by the claim id and the file's content hash, so a
  crash anywhere is completed by running :meth:`Handoff.process_claim` again.
* Order: make each artifact durable first (package, report, encrypted original), then
  commit the ledger state, then clean up the work area. If the ledger says a thing
  exists, it exists.
* Nothing returned from here carries a cell value or an agency's file name: results are
  ids, hashes, counts and rule ids, safe for Prefect parameters, results, logs and events.
* One process at a time works on a claim: a ``flock`` on its lock file guards it
  (released by the kernel if the process dies, so recovery never waits on a dead owner).
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import hashlib
import io
import json
import os
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO, TypedDict

import numpy as np
import pandas as pd

from connectors.dropfolder import ClaimedFile, Refusal, pending_claims, quarantine_refusal
from connectors.reader import ReadLimits, iter_intake_chunks
from hmis_handoff import __version__, agency_names, progress
from hmis_handoff.clock import now as current_time
from hmis_handoff.config import Settings
from hmis_handoff.crypto.age import encrypt_file, parse_recipient
from hmis_handoff.crypto.package import write_package
from hmis_handoff.crypto.signing import SigningKey
from hmis_handoff.deadlines import calendar_for
from hmis_handoff.errors import FileRejected, HandoffError, IntegrityError, UnsafeFolderError
from hmis_handoff.failpoints import failpoint
from hmis_handoff.fsutil import (
    atomic_write_text,
    atomic_writer,
    ensure_private_dir,
    remove_stale_temps,
)
from hmis_handoff.hashing import RecordKeyer
from hmis_handoff.layout import Layout
from hmis_handoff.leak_switch import plant_leak
from hmis_handoff.ledger import FileCounts, FileState, FileView, Ledger, NewRecord, PackageInfo
from hmis_handoff.ledger.models import TERMINAL_FILE_STATES, RecordState
from hmis_handoff.ledger.reservations import release_intake_ids, reserve_intake_ids
from hmis_handoff.payload import (
    CONFIRMATION_CSV,
    CONFIRMATION_XLSX,
    HMIS_DIR,
    PACKAGE_INFO,
    PAYLOAD_LAYOUT,
    WORKLIST,
    PackageInfoDoc,
    confirmation_sheet_csv,
    confirmation_sheet_xlsx,
    write_payload,
)
from hmis_handoff.quarantine_archive import encrypt_directory_and_remove
from hmis_handoff.record_key import adopt_legacy_hmac_key
from hmis_handoff.reports import (
    ReportProblem,
    ReportSummary,
    index_page_stale,
    write_agency_report,
    write_duplicate_notice,
    write_index_page,
)
from hmis_handoff.safedir import check_private_tree, held_dir
from hmis_handoff.timeliness import submitted_late
from hmis_handoff.workarea import (
    ClaimFiles,
    QuarantineFiles,
    RefusalFacts,
    encrypted,
    kept_original_name,
    load_or_create_secret,
    new_claim_id,
)
from hmis_handoff.workcopy import original_changed, oversized, private_copy
from hmis_handoff.worklist import WorklistRow, sort_rows, worklist_csv
from schemas.code_labels import code_list
from schemas.columns import SPEC_VERSIONS, SpecVersion, canonical_header, column_names, columns_for
from schemas.formula import FORMULA_PREFIXES, NEUTRALISER, neutralise
from schemas.normalise import NormaliseOptions, SourceFormat, normalise
from schemas.rules import RULES
from schemas.validate import FIRST_DATA_ROW, ChunkedValidation, Problem, ValidationContext
from usecases.hmis_csv_set import HmisCsvSetWriter, HmisCsvSource
from usecases.match_keys import record_match_keys

__all__ = [
    "ALL_COLUMN_SPECS",
    "CHUNK_ROWS",
    "HASH_CHUNK",
    "RECORD_COLUMNS",
    "SCHEMA_FORMAT",
    "SMALL_CHUNK_ROWS",
    "STALE_TEMP_SECONDS",
    "FileOutcome",
    "Handoff",
    "OutcomeRecord",
    "Prepared",
    "Verdict",
    "claim_lock",
    "load_verdict",
    "save_verdict",
    "scratch_writer",
    "sha256_file",
    "source_format_of",
    "withhold_taken",
]

HASH_CHUNK = 1 << 20
# Every column of every accepted spec version (code lists for the agency's guidance).
ALL_COLUMN_SPECS = tuple(spec for version in SPEC_VERSIONS for spec in columns_for(version))
# The column a consent gate points the agency at.
_GATE_COLUMN = {"ROI-MISSING": "ROIConsent", "ROI-EXPIRED": "ROIExpirationDate"}
_ALREADY_SENT_SAME = "INTAKE-ID-ALREADY-SENT-SAME"
SCHEMA_FORMAT = "hmis-intake-csv"
# Temp files younger than this may belong to another live worker sharing the tree.
STALE_TEMP_SECONDS = 600.0
# Rows per chunk: bounds memory for large files (a 1,000,000-row file is read in 20 chunks).
CHUNK_ROWS = 50_000
# Up to this many rows a chunk's cells are handled as plain lists (pandas costs more).
SMALL_CHUNK_ROWS = 1_000
# Columns the ledger record is built from (ids, dates; names/SSN/DOB only go into HMACs).
RECORD_COLUMNS = (
    "IntakeID", "IntakeDate", "FirstName", "LastName", "DOB", "SSN",
    "SSNDataQuality", "DOBDataQuality",
)  # fmt: skip


class OutcomeRecord(TypedDict):
    """:class:`FileOutcome` as a plain dict (flow results, ``--json``): no PII."""

    claim_id: str
    file_ref: str
    agency_id: str
    partner_id: str
    state: str
    rows_total: int
    rows_sent: int
    rows_held: int
    rows_not_transmittable: int
    warnings: int
    reject_rule: str | None
    package_id: str | None
    duplicate_of_ref: str | None


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one file: ids, counts and rule ids only (no PII)."""

    claim_id: str
    file_ref: str
    agency_id: str
    partner_id: str
    state: str
    rows_total: int = 0
    rows_sent: int = 0
    rows_held: int = 0
    rows_not_transmittable: int = 0
    warnings: int = 0
    reject_rule: str | None = None
    package_id: str | None = None
    duplicate_of_ref: str | None = None

    def as_dict(self) -> OutcomeRecord:
        return OutcomeRecord(
            claim_id=self.claim_id,
            file_ref=self.file_ref,
            agency_id=self.agency_id,
            partner_id=self.partner_id,
            state=self.state,
            rows_total=self.rows_total,
            rows_sent=self.rows_sent,
            rows_held=self.rows_held,
            rows_not_transmittable=self.rows_not_transmittable,
            warnings=self.warnings,
            reject_rule=self.reject_rule,
            package_id=self.package_id,
            duplicate_of_ref=self.duplicate_of_ref,
        )


@dataclass
class Verdict:
    """Pass 1's result for one file: row numbers and rule ids only, never values."""

    spec_version: SpecVersion = "FY2026"
    source_format: str = "csv"
    rows_total: int = 0
    sendable: set[int] = field(default_factory=set)
    held: dict[int, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # IntakeID of each sendable row: what is reserved in the ledger before packaging.
    intake_ids: dict[int, str] = field(default_factory=dict)
    normalise: NormaliseOptions | None = None

    def counts(self) -> FileCounts:
        errors = {p.row for p in self.problems if p.severity == "error"}
        return FileCounts(
            rows_total=self.rows_total,
            rows_sent=len(self.sendable),
            rows_held=len(errors),
            rows_not_transmittable=len(self.held),
            warnings=sum(1 for p in self.problems if p.severity == "warning"),
            spec_version=self.spec_version,
            source_format=self.source_format,
        )


@dataclass(frozen=True)
class Prepared:
    """A file judged before its hand-off (with other small files, as one frame: see
    :mod:`usecases.handoff_batch`): its verdict and its normalised rows, so the hand-off
    reads nothing again. Used only for the copy whose SHA-256 it names."""

    sha256: str
    verdict: Verdict
    frames: list[pd.DataFrame]


def save_verdict(path: Path, verdict: Verdict) -> None:
    """Keep pass 1's decision (row numbers and rule ids only: no values) beside the claim,
    0600 in ``work/``, so every later pass and rerun packages exactly what was decided."""
    payload = {
        "spec_version": verdict.spec_version,
        "source_format": verdict.source_format,
        "rows_total": verdict.rows_total,
        "sendable": sorted(verdict.sendable),
        "held": sorted(verdict.held.items()),
        "problems": [[p.row, p.column, p.rule_id, p.severity] for p in verdict.problems],
        "intake_ids": sorted(verdict.intake_ids.items()),
        "normalise": (
            None
            if verdict.normalise is None
            else {
                "today": verdict.normalise.today.isoformat(),
                "date_order": verdict.normalise.date_order,
                "source_format": verdict.normalise.source_format,
            }
        ),
    }
    with atomic_writer(path) as handle:
        handle.write(json.dumps(payload).encode("ascii"))


def load_verdict(path: Path) -> Verdict | None:
    """The decision :func:`save_verdict` kept, or None if there is none (or it is damaged)."""
    try:
        payload = json.loads(path.read_bytes())
        return Verdict(
            spec_version=payload["spec_version"],
            source_format=str(payload["source_format"]),
            rows_total=int(payload["rows_total"]),
            sendable={int(row) for row in payload["sendable"]},
            held={int(row): str(rule) for row, rule in payload["held"]},
            problems=[
                Problem(row=int(r), column=str(c), rule_id=str(i), severity=sev)
                for r, c, i, sev in payload["problems"]
            ],
            intake_ids={int(row): str(intake) for row, intake in payload["intake_ids"]},
            normalise=_load_normalise(payload.get("normalise")),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _load_normalise(raw: Any) -> NormaliseOptions | None:
    """The normalisation pass 1 used (its ``today`` fixes the two-digit-year pivot)."""
    if raw is None:
        return None
    return NormaliseOptions(
        today=date.fromisoformat(str(raw["today"])),
        date_order=raw["date_order"],
        source_format=raw["source_format"],
    )


def withhold_taken(verdict: Verdict, taken: frozenset[str]) -> None:
    """Hold back the sendable rows whose IntakeID another file reserved first: each becomes
    an ``INTAKE-ID-ALREADY-SENT`` error (row, column, rule; no value)."""
    rows = sorted(row for row, intake in verdict.intake_ids.items() if intake in taken)
    for row in rows:
        verdict.sendable.discard(row)
        del verdict.intake_ids[row]
    verdict.problems = sorted(
        [
            *verdict.problems,
            *(Problem(row, "IntakeID", "INTAKE-ID-ALREADY-SENT", "error") for row in rows),
        ],
        key=lambda p: (p.row, p.column, p.rule_id),
    )


def _neutralised_rows(frame: pd.DataFrame) -> Iterable[tuple[Any, ...]]:
    """``frame``'s rows with formula-like cells neutralised (schemas/formula.py): per column
    for a large chunk; for a few rows a plain loop costs far less than pandas' apply."""
    if len(frame) > SMALL_CHUNK_ROWS:
        return frame.apply(neutralise).itertuples(index=False, name=None)
    columns = [frame[name].tolist() for name in frame.columns]
    return [
        tuple(
            NEUTRALISER + cell
            if isinstance(cell, str) and cell.startswith(FORMULA_PREFIXES)
            else cell
            for cell in row
        )
        for row in zip(*columns, strict=True)
    ]


def source_format_of(path: Path) -> SourceFormat:
    """``xlsx`` or ``csv``: the reader's format, from the claimed file's suffix."""
    return "xlsx" if path.suffix.lower() == ".xlsx" else "csv"


def _code_notes(problems: list[Any]) -> dict[tuple[str, str], str]:
    """For each column with a code not in its list: that column's codes with meanings."""
    columns = {p.column for p in problems if p.rule_id == "CODE-NOT-IN-LIST"}
    notes: dict[tuple[str, str], str] = {}
    for spec in ALL_COLUMN_SPECS:
        if spec.name in columns and ("CODE-NOT-IN-LIST", spec.name) not in notes:
            listed = "; ".join(f"{code} = {meaning}" for code, meaning in code_list(spec))
            notes[("CODE-NOT-IN-LIST", spec.name)] = f"{spec.name} allows: {listed}."
    return notes


def sha256_file(path: Path) -> str:
    """Streaming SHA-256 of a file (never follows a symlink)."""
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def scratch_writer(path: Path) -> Iterator[BinaryIO]:
    """A private (0600) plaintext scratch file in ``work/``, written without fsync.

    Only for pass 2's intermediate files (``<claim>.send.*``): every pass removes them and
    writes them anew, the package is encrypted from them and made durable by
    :func:`~hmis_handoff.crypto.package.write_package`, so no step ever relies on one
    surviving a crash (an fsync here would make durable what is deleted a moment later).
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as handle:
        yield handle


@contextlib.contextmanager
def claim_lock(work_dir: Path, claim_id: str) -> Iterator[bool]:
    """Yield True if this process now owns the claim, False if another process does."""
    lock_path = ClaimFiles(work_dir, claim_id).lock
    fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


class Handoff:
    """The handoff for one configuration: holds the ledger, calendar, keys and layout."""

    def __init__(
        self,
        settings: Settings,
        *,
        ledger: Ledger | None = None,
        clock: Callable[[], datetime] = current_time,  # HANDOFF_NOW moves it (clock.py)
    ) -> None:
        self.settings = settings
        self.layout = Layout(settings.root)
        self.ledger = ledger or Ledger(settings.ledger_url)
        self.clock = clock
        self.calendar = calendar_for(settings)
        adopt_legacy_hmac_key(self.layout)
        self.keyer = RecordKeyer(load_or_create_secret(self.layout.hmac_key))
        self._signing_key: SigningKey | None = None
        # Agencies whose index page waits for the end of report_pages_once (any thread).
        self._pages_lock = threading.Lock()
        self._pages_depth = 0
        self._pages_due: set[str] = set()

    @property
    def signing_key(self) -> SigningKey:
        if self._signing_key is None:
            if not self.layout.signing_key.exists():
                raise IntegrityError(
                    "the CoC signing key is missing (state/signing.key); run `handoff init`"
                )
            self._signing_key = SigningKey.load(self.layout.signing_key)
        return self._signing_key

    def today(self) -> date:
        return self.clock().astimezone(self.settings.tz).date()

    # Recovery -------------------------------------------------------------------------

    def recover(self) -> list[ClaimedFile]:
        """Remove temp files a crash left behind; return claims still in the work area."""
        directories = [self.layout.work, self.layout.quarantine, self.layout.archive]
        for partner in self.settings.partners:
            directories.append(self.layout.partner_outbox(partner.id))
        check_private_tree(self.layout, [p.id for p in self.settings.partners])
        for directory in directories:
            remove_stale_temps(directory, min_age_seconds=STALE_TEMP_SECONDS)
        for agency in self.settings.agencies:
            with (
                contextlib.suppress(UnsafeFolderError, FileNotFoundError),
                held_dir(self.layout.agencies, (agency.id, "reports"), "reports") as held,
            ):
                remove_stale_temps(held, min_age_seconds=STALE_TEMP_SECONDS)
                if index_page_stale(held):  # a batch ended before its page rebuild
                    write_index_page(held)
        self._finish_interrupted_refusals()
        return pending_claims(self.layout.work)

    # Objects the scanner refused --------------------------------------------------------

    def answer_refusal(self, refusal: Refusal) -> str | None:
        """Quarantine a refused object and tell its agency; returns the quarantine id.

        Nothing is ever read from a refused object: a symlink, FIFO or socket moves as it
        is; a regular file (an unsupported type, a hard link) is then encrypted to the CoC
        archive key and its plaintext removed, like every rejected original. Each step is
        safe to repeat; :meth:`recover` finishes one a crash interrupted.
        """
        moved = quarantine_refusal(refusal, self.layout.quarantine)
        if moved is None:
            return None
        self._finish_refusal(
            moved,
            agency_id=refusal.agency_id,
            fingerprint=refusal.fingerprint,
            rule_id=refusal.reason_rule_id,
            name=os.fsdecode(refusal.path.name),
        )
        return moved.name.split(".", 1)[0]

    def _finish_refusal(
        self,
        moved: Path,
        *,
        agency_id: str,
        fingerprint: str,
        rule_id: str,
        name: str | None = None,
    ) -> None:
        with self._reports_dir(agency_id) as reports_dir:
            self._refusal_report(reports_dir, fingerprint=fingerprint, rule_id=rule_id, name=name)
        if moved.is_file() and not moved.is_symlink():
            recipient = self.settings.archive_recipient
            # An oversized object (a sparse terabyte costs 4 KB on disk) is never read: only
            # the fact is kept (sidecar and report), not an encrypted copy of its bytes.
            if recipient and not oversized(moved, self.settings.intake.max_bytes):
                encrypt_file(moved, encrypted(moved), [parse_recipient(recipient)], overwrite=True)
            moved.unlink()
        elif moved.is_dir() and not moved.is_symlink():
            # A refused folder may hold client files: kept only encrypted, like a file.
            recipient = self.settings.archive_recipient
            if recipient:
                encrypt_directory_and_remove(
                    moved,
                    encrypted(moved),
                    [parse_recipient(recipient)],
                    max_member_bytes=self.settings.intake.max_bytes,
                )
            else:
                shutil.rmtree(moved)

    @contextlib.contextmanager
    def report_pages_once(self) -> Iterator[None]:
        """Within this block (in any thread), receipts record their index entry but each
        agency's ``index.html`` is rebuilt once, at the end, not once per receipt (the page
        is derived from all entries: per receipt that cost grows with every file received).
        A crash before the end leaves the page behind its entries until the next receipt or
        :meth:`recover` rebuilds it; the receipts themselves are written as always."""
        with self._pages_lock:
            self._pages_depth += 1
        try:
            yield
        finally:
            with self._pages_lock:
                self._pages_depth -= 1
                deferred = sorted(self._pages_due) if self._pages_depth == 0 else []
                if self._pages_depth == 0:
                    self._pages_due.clear()
            for agency_id in deferred:
                with contextlib.suppress(OSError, HandoffError), self._reports_dir(agency_id) as d:
                    write_index_page(d)

    def _index_page_now(self, agency_id: str) -> bool:
        """False inside :meth:`report_pages_once` (the page is rebuilt at its end)."""
        with self._pages_lock:
            if self._pages_depth == 0:
                return True
            self._pages_due.add(agency_id)
            return False

    def remember_file_name(self, agency_id: str, claim_id: str, name: str) -> None:
        """Keep the agency's name for a claimed file, only in its own reports folder (held
        without following links), for its receipt. A refused folder costs the receipt the
        name, never the claim."""
        with contextlib.suppress(OSError, HandoffError), self._reports_dir(agency_id) as reports:
            agency_names.remember(reports, claim_id, name)

    def _reports_dir(self, agency_id: str) -> contextlib.AbstractContextManager[Path]:
        """The agency's reports folder, held open without following links: a ``reports``
        swapped for a symlink is refused (UnsafeFolderError), never written through."""
        return held_dir(
            self.layout.agencies,
            (agency_id, "reports"),
            f"reports of agency {agency_id}",
            create=True,
        )

    def _refusal_report(
        self, reports_dir: Path, *, fingerprint: str, rule_id: str, name: str | None = None
    ) -> None:
        write_agency_report(
            reports_dir,
            agency_file_name=name,
            file_ref=fingerprint,
            received_at=self.clock().astimezone(self.settings.tz),
            outcome_summary=ReportSummary(
                rows_received=0,
                rows_sent=0,
                rows_held_back=0,
                rows_not_transmittable=0,
                warnings=0,
                rejected_rule=rule_id,
            ),
            problems=[],
            rules=RULES,
        )

    def _finish_interrupted_refusals(self) -> None:
        """Quarantined plaintext a crash left unencrypted: encrypt it and answer the agency."""
        for files in QuarantineFiles.each(self.layout.quarantine):
            sidecar, moved = files.sidecar, files.moved
            if moved.is_symlink() or not (moved.is_file() or moved.is_dir()):
                continue
            try:
                facts = json.loads(sidecar.read_text(encoding="utf-8"))
                agency_id = str(facts["agency_id"])
                self.settings.agency(agency_id)
            except (ValueError, KeyError, HandoffError):
                continue  # unreadable sidecar or unknown agency: leave it for an operator
            self._finish_refusal(
                moved, agency_id=agency_id, fingerprint=str(facts["name_fingerprint"]),
                rule_id=str(facts["reason_rule_id"]),
            )  # fmt: skip

    # One file -------------------------------------------------------------------------

    def process_claim(
        self, claimed: ClaimedFile, prepared: Prepared | None = None
    ) -> FileOutcome | None:
        """Carry one claimed file to its terminal place. None if another process owns it.

        ``prepared``: its verdict judged beforehand (a batch); used only if the file is
        still unjudged in the ledger and its private copy is the one that was judged."""
        with claim_lock(self.layout.work, claimed.claim_id) as owned:
            if not owned:
                return None
            return self._process_owned(claimed, prepared)

    def _process_owned(self, claimed: ClaimedFile, prepared: Prepared | None) -> FileOutcome:
        self._remove_claim_temps(claimed)
        view = self.ledger.file_by_claim(claimed.claim_id)
        if view is not None and view.state in TERMINAL_FILE_STATES:
            if view.state == FileState.DUPLICATE:
                # A duplicate is terminal the moment it is registered, before its notice is
                # written; a crash in between must not leave the agency without an answer.
                self._duplicate_notice(claimed, view)
            self._cleanup(claimed)
            return self._outcome(claimed, view)
        if not claimed.path.exists():
            raise IntegrityError(f"claim {claimed.claim_id}: work file missing, no terminal state")
        agency = self.settings.agency(claimed.agency_id)
        copy = self.copy_of(claimed)
        if not private_copy(claimed.path, copy, self.settings.intake.max_bytes):
            return self._refuse_oversized(claimed)
        sha256 = sha256_file(copy)
        view = self.ledger.register_claim(
            claim_id=claimed.claim_id,
            sha256=sha256,
            agency_id=agency.id,
            partner_id=agency.partner,
            received_at=claimed.claimed_at,
        )
        failpoint("registered")
        if prepared is not None and (prepared.sha256 != sha256 or view.state != FileState.RECEIVED):
            prepared = None
        if view.state == FileState.DUPLICATE:
            self._duplicate_notice(claimed, view)
            failpoint("reported")
            self._cleanup(claimed)
            return self._outcome(claimed, view)
        try:
            return self._handoff(claimed, view, prepared)
        except FileRejected as rejection:
            return self._reject(
                claimed,
                view,
                rejection.rule_id,
                FileCounts(0, 0, 0, 0, 0),
                [],
                detail=rejection.detail,
            )

    def abandon_claim(self, claimed: ClaimedFile, rule_id: str) -> FileOutcome | None:
        """Give up a claim that keeps failing: answer its agency with ``rule_id``, keep the
        original only encrypted in ``quarantine/``, remove its plaintext from ``work/``.

        A known agency gets the usual rejection (report, quarantine, ledger ``rejected``);
        a claim whose agency is no longer configured is quarantined like a refused object
        (refusal sidecar, no ledger row) and answered in its reports folder if that still
        exists. Returns the outcome, or None (another process owns it; unknown agency).
        """
        with claim_lock(self.layout.work, claimed.claim_id) as owned:
            if not owned:
                return None
            try:
                agency = self.settings.agency(claimed.agency_id)
            except HandoffError:
                self._quarantine_orphan(claimed, rule_id)
                return None
            view = self.ledger.file_by_claim(claimed.claim_id) or self.ledger.register_claim(
                claim_id=claimed.claim_id,
                sha256=hashlib.sha256(f"{rule_id}:{claimed.claim_id}".encode()).hexdigest(),
                agency_id=agency.id,
                partner_id=agency.partner,
                received_at=claimed.claimed_at,
            )
            if view.state in TERMINAL_FILE_STATES:
                self._cleanup(claimed)
                return self._outcome(claimed, view)
            package_id = f"{view.received_at.astimezone(self.settings.tz):%Y%m%d}-{view.ref}"
            if any(self.layout.partner_outbox(view.partner_id).glob(f"{package_id}.*")):
                # Its package may already be with the partner: rejecting now would contradict
                # it. Keep retrying (other claims still move) until an operator looks.
                raise IntegrityError(f"claim {claimed.claim_id} has a package in the outbox")
            try:
                return self._reject(claimed, view, rule_id, FileCounts(0, 0, 0, 0, 0), [])
            except Exception:
                # The usual answer failed too (e.g. its reports folder is refused): still get
                # the plaintext out of work/, encrypted, and close the ledger row.
                if claimed.path.exists():
                    self._quarantine_orphan(claimed, rule_id)
                release_intake_ids(self.ledger, view.id)
                self.ledger.mark_rejected(view.id, rule_id, FileCounts(0, 0, 0, 0, 0))
                self._cleanup(claimed)
                return self._outcome(claimed, self.ledger.file(view.id))

    def _quarantine_orphan(self, claimed: ClaimedFile, rule_id: str) -> None:
        """Quarantine a claim of an unconfigured agency (encrypted) and clear ``work/``."""
        quarantine = ensure_private_dir(self.layout.quarantine)
        files = QuarantineFiles(quarantine, new_claim_id())
        atomic_write_text(
            files.sidecar,
            json.dumps(
                RefusalFacts(
                    quarantine_id=files.quarantine_id,
                    agency_id=claimed.agency_id,
                    reason_rule_id=rule_id,
                    name_fingerprint=claimed.name_fingerprint,
                    kind="file",
                    quarantined_at=self.clock().isoformat(),
                )
            ),
            replace=False,
        )
        moved = files.moved
        os.rename(claimed.path, moved)
        recipient = self.settings.archive_recipient
        if recipient:
            encrypt_file(moved, files.kept, [parse_recipient(recipient)])
        moved.unlink()
        with (
            contextlib.suppress(OSError, HandoffError),
            held_dir(
                self.layout.agencies, (claimed.agency_id, "reports"), "reports"
            ) as reports_dir,
        ):
            self._refusal_report(reports_dir, fingerprint=claimed.name_fingerprint, rule_id=rule_id)
        self._cleanup(claimed)

    def copy_of(self, claimed: ClaimedFile) -> Path:
        """Our private copy of the claim: every pass reads it, never the agency's inode."""
        return ClaimFiles(self.layout.work, claimed.claim_id).copy(claimed.suffix)

    def _refuse_oversized(self, claimed: ClaimedFile) -> FileOutcome:
        """FILE-TOO-LARGE from the size alone: nothing is read, hashed or archived.

        What is kept is the fact (ledger row, report); the content hash is replaced by a
        per-claim marker hash so the file is never matched as a duplicate.
        """
        agency = self.settings.agency(claimed.agency_id)
        view = self.ledger.register_claim(
            claim_id=claimed.claim_id,
            sha256=hashlib.sha256(f"FILE-TOO-LARGE:{claimed.claim_id}".encode()).hexdigest(),
            agency_id=agency.id,
            partner_id=agency.partner,
            received_at=claimed.claimed_at,
        )
        limit_mb = self.settings.intake.max_bytes // 2**20
        return self._reject(
            claimed,
            view,
            "FILE-TOO-LARGE",
            FileCounts(0, 0, 0, 0, 0),
            [],
            detail=f"the file is over the {limit_mb} MB limit",
            keep_original=False,
        )

    def _duplicate_notice(self, claimed: ClaimedFile, view: FileView) -> None:
        """Tell the agency its file repeats an earlier one (same name every time: idempotent)."""
        original = self.ledger.file(view.duplicate_of) if view.duplicate_of else None
        with self._reports_dir(view.agency_id) as reports_dir:
            write_duplicate_notice(
                reports_dir,
                agency_file_name=agency_names.recall(reports_dir, claimed.claim_id),
                file_ref=view.ref,
                received_at=claimed.claimed_at.astimezone(self.settings.tz),
                original_ref=original.ref if original else "",
                original_received_at=(
                    original.received_at.astimezone(self.settings.tz) if original else None
                ),
                # Per copy (the random end of the claim id): the same name on a retry after a
                # crash, a new one per resend.
                notice_id=claimed.claim_id[-8:],
                index_page=self._index_page_now(view.agency_id),
            )

    def validation_context(self, agency_id: str, source_format: SourceFormat) -> ValidationContext:
        """What an agency's rows are judged against today (its delivery history included)."""
        agency = self.settings.agency(agency_id)
        return ValidationContext(
            agency_id=agency.id,
            today=self.today(),
            is_victim_service_provider=agency.victim_service_provider,
            expected_coc=self.settings.coc_code,
            previously_sent=self.ledger.previously_sent(agency.id),
            sent_content=self.ledger.sent_content(agency.id),
            content_key=lambda rows: self._content_keys(agency.id, rows),
            date_order=agency.date_order,
            source_format=source_format,
        )

    def _handoff(
        self, claimed: ClaimedFile, view: FileView, prepared: Prepared | None = None
    ) -> FileOutcome:
        agency = self.settings.agency(view.agency_id)
        copy = self.copy_of(claimed)
        decided = (
            load_verdict(self._verdict_path(claimed)) if view.state == FileState.VALIDATED else None
        )
        # Rows read once: the validated (normalised) frames of a one-chunk file are kept for
        # the package and the ledger records; a larger file is streamed again per pass.
        frames: list[pd.DataFrame] | None = None
        if decided is not None:
            verdict = decided
        elif prepared is not None:
            verdict, frames = prepared.verdict, prepared.frames
        else:
            context = self.validation_context(agency.id, source_format_of(claimed.path))
            verdict, frames = self._validate(copy, context)
        problems = verdict.problems
        counts = verdict.counts()
        rule = None if decided else self._file_level_rule(agency.id, verdict, counts)
        if rule is None and not decided and original_changed(claimed.path, copy):
            # Written through a kept handle after we took our copy: rows could be missing.
            rule, problems = "FILE-CHANGED-AFTER-CLAIM", []
        if rule is None and not decided:
            # Committed before any package: another worker's file reusing these IntakeIDs
            # sees them taken and never packages those rows (nor do we, if it won).
            taken = reserve_intake_ids(
                self.ledger,
                file_id=view.id,
                agency_id=agency.id,
                intake_ids=verdict.intake_ids.values(),
            )
            if taken:
                withhold_taken(verdict, taken)
                problems, counts = verdict.problems, verdict.counts()
                rule = self._file_level_rule(agency.id, verdict, counts)
        if rule is not None:
            held = FileCounts(
                counts.rows_total,
                0,
                counts.rows_total,
                0,
                counts.warnings,
                counts.spec_version,
                counts.source_format,
            )
            return self._reject(claimed, view, rule, held, problems)
        if not decided:
            # Package and ledger rows are built from this decision on every later pass, so a
            # rerun after a day rollover (an ROI expiring at midnight) cannot change them.
            save_verdict(self._verdict_path(claimed), verdict)
        self.ledger.mark_validated(view.id, counts)
        failpoint("validated")

        package: PackageInfo | None = None
        if counts.rows_sent:
            package = self._package(claimed, view, verdict, frames)
        # Rows held for consent or a victim-service agency are listed too, so the agency
        # knows which ones were not sent and why (the gate's rule id; no value).
        not_sent = [
            Problem(row=row, column=_GATE_COLUMN.get(reason, ""), rule_id=reason, severity="info")
            for row, reason in sorted(verdict.held.items())
        ]
        self._report(
            claimed,
            view,
            counts,
            sorted([*problems, *not_sent], key=lambda p: (p.row, p.column, p.rule_id)),
            package_id=package.package_id if package else None,
        )
        failpoint("reported")
        self._archive(claimed, view, self.layout.archive)
        failpoint("archived")
        self.ledger.mark_delivered(
            view.id, counts=counts, package=package, records=self._records(claimed, verdict, frames)
        )
        failpoint("delivered")
        self._cleanup(claimed)
        return self._outcome(claimed, self.ledger.file(view.id))

    def read_chunks(self, path: Path) -> Iterator[pd.DataFrame]:
        """The file as all-text frames of at most CHUNK_ROWS rows (index = row number - 2)."""
        intake = self.settings.intake
        for part in iter_intake_chunks(
            path,
            header_map=canonical_header,
            limits=ReadLimits(max_bytes=intake.max_bytes, max_rows=intake.max_rows),
            chunk_rows=CHUNK_ROWS,
        ):
            yield part.frame

    def _content_keys(self, agency_id: str, rows: pd.DataFrame) -> list[str]:
        """Keyed hash of each (normalised) row's content: tells identical re-sends apart."""
        columns = [str(c) for c in rows.columns]
        return [
            self.keyer.content_key(agency_id, zip(columns, map(str, values), strict=True))
            for values in rows.itertuples(index=False, name=None)
        ]

    def _rows(
        self, claimed: ClaimedFile, verdict: Verdict, frames: list[pd.DataFrame] | None
    ) -> Iterable[pd.DataFrame]:
        """The validated rows: ``frames`` when pass 1 kept them, else read from the copy."""
        if frames is not None:
            return frames
        return self._normalised_chunks(self.copy_of(claimed), verdict)

    def _normalised_chunks(self, path: Path, verdict: Verdict) -> Iterator[pd.DataFrame]:
        """The chunks with the Excel forms validation accepted rewritten (ISO dates, 9-char
        SSNs), so the package and the ledger carry exactly what was validated."""
        for frame in self.read_chunks(path):
            if verdict.normalise is None:
                yield frame
            else:
                yield normalise(frame, verdict.spec_version, verdict.normalise).frame

    def _validate(
        self, path: Path, context: ValidationContext
    ) -> tuple[Verdict, list[pd.DataFrame] | None]:
        """Pass 1: row verdicts chunk by chunk, then the cross-row rules over all chunks.
        Also the normalised frames when the file was one chunk (else None: re-read them)."""
        run = ChunkedValidation(context)
        verdict = Verdict()
        kept: list[pd.DataFrame] = []
        chunks = 0
        for frame in self.read_chunks(path):
            plant_leak(frame)  # a no-op unless the canary sweep's test switch is on
            part = run.validate_chunk(frame)
            kept = [part.frame]  # only a one-chunk file keeps its rows (below)
            rows = frame.index.to_numpy() + FIRST_DATA_ROW
            verdict.rows_total += len(frame)
            verdict.sendable.update(rows[np.asarray(part.sendable, dtype=bool)].tolist())
            verdict.held.update(part.not_transmittable)
            verdict.problems.extend(part.problems)
            verdict.spec_version = part.spec_version
            if "IntakeID" in frame.columns:
                verdict.intake_ids.update(
                    zip(rows.tolist(), frame["IntakeID"].tolist(), strict=True)
                )
            progress.rows_done(verdict.rows_total)
            chunks += 1
        tail = run.finish()
        verdict.normalise = run.options
        verdict.sendable -= tail.withheld | tail.errored
        for row in tail.errored:
            verdict.held.pop(row, None)
        verdict.problems = sorted(
            [*verdict.problems, *tail.problems], key=lambda p: (p.row, p.column, p.rule_id)
        )
        verdict.source_format = source_format_of(path)
        verdict.intake_ids = {
            row: str(verdict.intake_ids[row])
            for row in verdict.sendable
            if row in verdict.intake_ids
        }
        return verdict, (kept if chunks == 1 else None)

    def _file_level_rule(self, agency_id: str, verdict: Verdict, counts: FileCounts) -> str | None:
        """A rule id when the whole file must be turned back, else None."""
        mismatched = {p.row for p in verdict.problems if p.rule_id == "AGENCY-MISMATCH"}
        if counts.rows_total and len(mismatched) == counts.rows_total:
            return "FILE-WRONG-AGENCY"
        policy = self.settings.error_policy_for(agency_id)
        if counts.rows_held and policy == "reject_file":
            return "FILE-HAS-ERRORS"
        nothing_accepted = counts.rows_sent == 0 and counts.rows_not_transmittable == 0
        if nothing_accepted and not any(p.rule_id == _ALREADY_SENT_SAME for p in verdict.problems):
            return "FILE-NO-VALID-ROWS"
        return None

    def _package(
        self,
        claimed: ClaimedFile,
        view: FileView,
        verdict: Verdict,
        frames: list[pd.DataFrame] | None = None,
    ) -> PackageInfo:
        """Pass 2: the sendable rows as the payload zip (work area, 0600), encrypted and
        signed. The zip's layout is :mod:`hmis_handoff.payload`; every member is written
        chunk by chunk, so memory stays bounded by a chunk (plus the small worklist)."""
        partner = self.settings.partner(view.partner_id)
        agency = self.settings.agency(view.agency_id)
        package_id = f"{view.received_at.astimezone(self.settings.tz):%Y%m%d}-{view.ref}"
        files = ClaimFiles(self.layout.work, claimed.claim_id)
        plain, bundle = files.send_csv, files.send_zip
        order = list(column_names(verdict.spec_version))
        created_at = self.clock()
        local = created_at.astimezone(self.settings.tz)
        hmis = HmisCsvSetWriter(
            self.layout.work,
            HmisCsvSource(
                export_id=package_id[:32],
                agency_id=agency.id,
                agency_name=agency.name,
                coc_code=self.settings.coc_code,
                created_at=local.replace(tzinfo=None),
                software_version=__version__,
            ),
            prefix=files.send_hmis_prefix,
        )
        worklist = _WorklistBuilder(self, verdict, view.received_at, local.date())
        try:
            with scratch_writer(plain) as handle:
                text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
                writer = csv.writer(text, lineterminator="\r\n")
                header_written = False
                for frame in self._rows(claimed, verdict, frames):
                    columns = [c for c in order if c in frame.columns]
                    if not header_written:
                        writer.writerow(columns)
                        header_written = True
                    rows = frame.index.to_numpy() + FIRST_DATA_ROW
                    keep = np.isin(rows, list(verdict.sendable))
                    chosen = frame.loc[keep, columns]
                    # Formula-like cells reach the partner's spreadsheet CSV as text
                    # (schemas/formula.py); the HMIS CSV set and worklist keep the value.
                    writer.writerows(_neutralised_rows(chosen))
                    hmis.add(chosen)
                    worklist.add(rows[keep].tolist(), chosen)
                text.flush()
                text.detach()
            failpoint("plaintext-written")
            ordered = worklist.rows()
            ids = [r.intake_id for r in ordered]
            info = PackageInfoDoc(
                package_id=package_id,
                agency_id=view.agency_id,
                partner_id=view.partner_id,
                record_count=len(ordered),
                timezone=self.settings.timezone,
                packaged_at=local.replace(microsecond=0).isoformat(),
            )
            members: dict[str, bytes | Path] = {
                PACKAGE_INFO: info.to_json(),
                WORKLIST: worklist_csv(ordered),
                CONFIRMATION_CSV: confirmation_sheet_csv(ids, view.agency_id),
                CONFIRMATION_XLSX: confirmation_sheet_xlsx(
                    ids, view.agency_id, self._send_scratch(claimed.claim_id)
                ),
                **{HMIS_DIR + name: path for name, path in hmis.finish().items()},
            }
            with scratch_writer(bundle) as handle:
                write_payload(handle, intake_csv=plain, members=members, packaged_at=local)
            paths = write_package(
                bundle,
                self.layout.partner_outbox(partner.id),
                package_id=package_id,
                agency_id=view.agency_id,
                partner_id=partner.id,
                record_count=len(verdict.sendable),
                schema_version=f"{SCHEMA_FORMAT}.{verdict.spec_version}",
                recipients=[parse_recipient(r) for r in partner.recipients],
                signing_key=self.signing_key,
                created_at=created_at,
                payload=PAYLOAD_LAYOUT,
            )
            failpoint("packaged")
        finally:
            hmis.close()
            self._remove_send_files(claimed.claim_id)
        return PackageInfo(
            package_id=package_id,
            created_at=self.clock(),
            record_count=len(verdict.sendable),
            ciphertext_sha256=paths.package_manifest.ciphertext_sha256,
        )

    def _send_scratch(self, claim_id: str) -> Path:
        """A private folder for the XLSX writer's spill files, named for the claim so that
        cleanup (and recovery after a crash) removes whatever the writer left there."""
        scratch = ClaimFiles(self.layout.work, claim_id).send_scratch
        ensure_private_dir(scratch)
        return scratch

    def _remove_send_files(self, claim_id: str, names: Iterable[str] | None = None) -> None:
        """The plaintext files pass 2 writes for a claim (CSV, HMIS set, zip, scratch);
        ``names``: a listing of ``work`` already made (see :meth:`ClaimFiles.listing`)."""
        for path in ClaimFiles(self.layout.work, claim_id).send_files(names):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
                continue
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def due_for(self, intake_date: date, received_at: datetime) -> date:
        """A record's due date: the same rule the ledger records use."""
        if self.settings.calendar.clock_start == "received":
            start = self.calendar.clock_start(received_at.astimezone(self.settings.tz))
        else:
            start = intake_date
        return self.calendar.due_date(start, self.settings.calendar.business_days)

    def _records(
        self, claimed: ClaimedFile, verdict: Verdict, frames: list[pd.DataFrame] | None = None
    ) -> Iterator[NewRecord]:
        """Pass 3: ledger rows for delivered and not-transmittable rows, chunk by chunk.

        Ids, dates and keyed hashes only; consumed inside the ledger transaction.
        """
        received_local = claimed.claimed_at.astimezone(self.settings.tz)
        received_on = received_local.date()
        clock_from_receipt = self.settings.calendar.clock_start == "received"
        receipt_start = self.calendar.clock_start(received_local)
        days = self.settings.calendar.business_days
        wanted = list(RECORD_COLUMNS)
        tracked = list(verdict.sendable | set(verdict.held))
        due_cache: dict[date, date] = {}
        for frame in self._rows(claimed, verdict, frames):
            rows = frame.index.to_numpy() + FIRST_DATA_ROW
            keep = np.isin(rows, tracked)
            selected = frame.loc[keep, [c for c in wanted if c in frame.columns]]
            records: list[dict[str, Any]] = selected.to_dict("records")  # type: ignore[assignment]
            content_keys = self._content_keys(claimed.agency_id, frame.loc[keep])
            for row_number, row, content_key in zip(
                rows[keep].tolist(), records, content_keys, strict=True
            ):
                intake_date = date.fromisoformat(str(row["IntakeDate"]))
                start = receipt_start if clock_from_receipt else intake_date
                if start not in due_cache:
                    due_cache[start] = self.calendar.due_date(start, days)
                due = due_cache[start]
                reason = verdict.held.get(row_number)
                # A row never sent (no consent, a victim-service agency) gets no keyed hash
                # of its identity: nothing will ever be matched to it, and each hash is one
                # more target for a guess-and-check attack on a stolen ledger (SECURITY.md).
                keys = {} if reason else self._identity_keys(row)
                yield NewRecord(
                    intake_id=str(row["IntakeID"]),
                    row_number=row_number,
                    state=RecordState.NOT_TRANSMITTABLE if reason else RecordState.DELIVERED,
                    reason_rule=reason,
                    intake_date=intake_date,
                    received_on=received_on,
                    due_date=due,
                    submitted_late=submitted_late(
                        intake_date=intake_date, received_on=received_on, due=due
                    ),
                    **keys,
                    content_key=None if reason else content_key,
                )

    def _identity_keys(self, row: dict[str, Any]) -> dict[str, Any]:
        """The person key and match keys of one sent row (keyed hashes, never values)."""
        return {
            "person_key": self.keyer.person_key(
                str(row.get("FirstName", "")),
                str(row.get("LastName", "")),
                str(row.get("DOB", "")),
                str(row.get("SSN", "")),
            ),
            **record_match_keys(self.keyer, row),
        }

    def _report(
        self,
        claimed: ClaimedFile,
        view: FileView,
        counts: FileCounts,
        problems: list[Any],
        *,
        package_id: str | None,
        reject_rule: str | None = None,
        detail: str | None = None,
    ) -> None:
        with self._reports_dir(view.agency_id) as reports_dir:
            self._write_report(reports_dir, claimed, view, counts, problems, package_id=package_id,
                               reject_rule=reject_rule, detail=detail)  # fmt: skip

    def _write_report(
        self,
        reports_dir: Path,
        claimed: ClaimedFile,
        view: FileView,
        counts: FileCounts,
        problems: list[Any],
        *,
        package_id: str | None,
        reject_rule: str | None,
        detail: str | None,
    ) -> None:
        write_agency_report(
            reports_dir,
            agency_file_name=agency_names.recall(reports_dir, claimed.claim_id),
            file_ref=view.ref,
            received_at=claimed.claimed_at.astimezone(self.settings.tz),
            outcome_summary=ReportSummary(
                rows_received=counts.rows_total,
                rows_sent=counts.rows_sent,
                rows_held_back=counts.rows_held,
                rows_not_transmittable=counts.rows_not_transmittable,
                warnings=counts.warnings,
                rows_already_sent=sum(1 for p in problems if p.rule_id == _ALREADY_SENT_SAME),
                rejected_rule=reject_rule,
                package_ref=package_id,
                rejected_detail=detail or None,
            ),
            problems=[
                ReportProblem(
                    row=p.row,
                    column=p.column,
                    rule_id=p.rule_id,
                    severity=p.severity,
                    detail=getattr(p, "detail", ""),
                )
                for p in problems
            ],
            rules=RULES,
            column_notes=_code_notes(problems),
            index_page=self._index_page_now(view.agency_id),
        )

    def _reject(
        self,
        claimed: ClaimedFile,
        view: FileView,
        rule_id: str,
        counts: FileCounts,
        problems: list[Any],
        *,
        detail: str | None = None,
        keep_original: bool = True,
    ) -> FileOutcome:
        self._report(
            claimed, view, counts, problems, package_id=None, reject_rule=rule_id, detail=detail
        )
        failpoint("reported")
        if keep_original:
            self._archive(claimed, view, self.layout.quarantine)
        release_intake_ids(self.ledger, view.id)
        failpoint("archived")
        self.ledger.mark_rejected(view.id, rule_id, counts)
        failpoint("rejected")
        self._cleanup(claimed)
        return self._outcome(claimed, self.ledger.file(view.id))

    def _archive(self, claimed: ClaimedFile, view: FileView, directory: Path) -> None:
        """Keep the original only encrypted to the CoC archive key (or not at all)."""
        recipient = self.settings.archive_recipient
        if not recipient:
            return
        received = view.received_at.astimezone(self.settings.tz)
        target = directory / kept_original_name(received, view.ref, claimed.suffix)
        copy = self.copy_of(claimed)
        # The bytes we read (our copy), or the claimed file if we never got to copy it.
        source = copy if copy.exists() else claimed.path
        encrypt_file(source, target, [parse_recipient(recipient)], overwrite=True)

    def _verdict_path(self, claimed: ClaimedFile) -> Path:
        return ClaimFiles(self.layout.work, claimed.claim_id).verdict

    def _remove_claim_temps(self, claimed: ClaimedFile) -> None:
        """Temp files of this claim (we hold its lock, so no one else is writing them)."""
        files = ClaimFiles(self.layout.work, claimed.claim_id)
        names = files.listing()
        for temp in files.temp_files(names):
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
        self._remove_send_files(claimed.claim_id, names)

    def _cleanup(self, claimed: ClaimedFile) -> None:
        """Remove the plaintext original and its claim files from the work area.

        The claim's own file goes after its helpers: while it exists, recovery lists the
        claim and finishes this cleanup, so a crash here never strands a copy.
        """
        self._remove_send_files(claimed.claim_id)
        files = ClaimFiles(self.layout.work, claimed.claim_id)
        for path in (
            self.copy_of(claimed),
            self._verdict_path(claimed),
            files.attempts,
            files.send_csv,
            files.send_zip,
            claimed.path,
            files.sidecar,
        ):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        with contextlib.suppress(FileNotFoundError):
            files.lock.unlink()
        failpoint("cleaned-up")

    def _outcome(self, claimed: ClaimedFile, view: FileView) -> FileOutcome:
        duplicate_ref = None
        if view.duplicate_of is not None:
            duplicate_ref = self.ledger.file(view.duplicate_of).ref
        return FileOutcome(
            claim_id=claimed.claim_id,
            file_ref=view.ref,
            agency_id=view.agency_id,
            partner_id=view.partner_id,
            state=view.state,
            rows_total=view.rows_total,
            rows_sent=view.rows_sent,
            rows_held=view.rows_held,
            rows_not_transmittable=view.rows_not_transmittable,
            warnings=view.warnings,
            reject_rule=view.reject_rule,
            package_id=view.package_id,
            duplicate_of_ref=duplicate_ref,
        )


class _WorklistBuilder:
    """Collects the worklist row of each sent record while pass 2 streams the chunks."""

    def __init__(
        self, handoff: Handoff, verdict: Verdict, received_at: datetime, today: date
    ) -> None:
        self._handoff = handoff
        self._received_at = received_at
        self._today = today
        self._warnings: dict[int, set[str]] = {}
        for problem in verdict.problems:
            if problem.severity == "warning":
                self._warnings.setdefault(problem.row, set()).add(problem.rule_id)
        self._due: dict[date, tuple[date, int]] = {}
        self._rows: list[WorklistRow] = []

    def add(self, row_numbers: list[int], frame: pd.DataFrame) -> None:
        def column(name: str) -> list[str]:
            return frame[name].tolist() if name in frame else [""] * len(frame)

        for row_number, intake_id, household, relationship, day in zip(
            row_numbers,
            column("IntakeID"),
            column("HouseholdID"),
            column("RelationshipToHoH"),
            column("IntakeDate"),
            strict=True,
        ):
            intake_date = date.fromisoformat(day)
            if intake_date not in self._due:
                due = self._handoff.due_for(intake_date, self._received_at)
                left = self._handoff.calendar.business_days_between(self._today, due)
                self._due[intake_date] = (due, left)
            due, left = self._due[intake_date]
            self._rows.append(
                WorklistRow(
                    intake_id=intake_id,
                    household_id=household,
                    head_of_household=relationship == "1",
                    intake_date=intake_date,
                    due_date=due,
                    business_days_left=left,
                    warnings=tuple(sorted(self._warnings.get(row_number, ()))),
                )
            )

    def rows(self) -> list[WorklistRow]:
        return sort_rows(self._rows)
