"""The handoff of one claimed file, as plain functions: read, validate, package, report, record.

Contract (see DESIGN.md, non-negotiables 1-4):

* Every step is idempotent and keyed by the claim id and the file's content hash, so a
  crash anywhere is completed by running :meth:`Pipeline.process_claim` again.
* Order: make each artifact durable first (package, report, encrypted original), then
  commit the ledger state, then clean up the work area. If the ledger says a thing
  exists, it exists.
* Nothing returned from here carries a cell value or an agency's file name: results are
  ids, hashes, counts and rule ids, safe for Prefect parameters, results, logs and events.
* One process at a time works on a claim: a ``flock`` on ``work/<claim>.lock`` guards it
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
import secrets
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from connectors.dropfolder import (
    QUARANTINE_SUFFIX,
    REFUSAL_SIDECAR_SUFFIX,
    ClaimedFile,
    Refusal,
    pending_claims,
    quarantine_refusal,
)
from connectors.reader import ReadLimits, iter_intake_chunks
from hmis_handoff import __version__
from hmis_handoff.clock import now as current_time
from hmis_handoff.config import Settings
from hmis_handoff.crypto.age import encrypt_file, parse_recipient
from hmis_handoff.crypto.package import write_package
from hmis_handoff.crypto.signing import SigningKey
from hmis_handoff.deadlines import calendar_for
from hmis_handoff.errors import FileRejected, HandoffError, IntegrityError
from hmis_handoff.failpoints import failpoint
from hmis_handoff.fsutil import TEMP_PREFIX, atomic_writer, remove_stale_temps
from hmis_handoff.hashing import RecordKeyer
from hmis_handoff.hmis_csv_set import HmisCsvSetWriter, HmisCsvSource
from hmis_handoff.layout import Layout
from hmis_handoff.ledger import FileCounts, FileState, FileView, Ledger, NewRecord, PackageInfo
from hmis_handoff.ledger.models import TERMINAL_FILE_STATES, RecordState
from hmis_handoff.match_keys import record_match_keys
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
from hmis_handoff.reports import (
    ReportProblem,
    ReportSummary,
    write_agency_report,
    write_duplicate_notice,
)
from hmis_handoff.timeliness import submitted_late
from hmis_handoff.worklist import WorklistRow, sort_rows, worklist_csv
from schemas.columns import SpecVersion, canonical_header, column_names
from schemas.rules import RULES
from schemas.validate import FIRST_DATA_ROW, ChunkedValidation, Problem, ValidationContext

HASH_CHUNK = 1 << 20
# The column a consent gate points the agency at.
_GATE_COLUMN = {"ROI-MISSING": "ROIConsent", "ROI-EXPIRED": "ROIExpirationDate"}
SCHEMA_FORMAT = "hmis-intake-csv"
# Temp files younger than this may belong to another live worker sharing the tree.
STALE_TEMP_SECONDS = 600.0
# Rows per chunk: bounds memory for large files (a 1,000,000-row file is read in 20 chunks).
CHUNK_ROWS = 50_000
# Columns the ledger record is built from (ids, dates; names/SSN/DOB only go into HMACs).
RECORD_COLUMNS = (
    "IntakeID", "IntakeDate", "FirstName", "LastName", "DOB", "SSN",
    "SSNDataQuality", "DOBDataQuality",
)  # fmt: skip


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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Verdict:
    """Pass 1's result for one file: row numbers and rule ids only, never values."""

    spec_version: SpecVersion = "FY2026"
    source_format: str = "csv"
    rows_total: int = 0
    sendable: set[int] = field(default_factory=set)
    held: dict[int, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

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


def sha256_file(path: Path) -> str:
    """Streaming SHA-256 of a file (never follows a symlink)."""
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def load_or_create_secret(path: Path, size: int = 32) -> bytes:
    """A random secret kept in a 0600 file (created on first use)."""
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with atomic_writer(path, replace=False) as handle:
        handle.write(secrets.token_bytes(size))
    return path.read_bytes()


@contextlib.contextmanager
def claim_lock(work_dir: Path, claim_id: str) -> Iterator[bool]:
    """Yield True if this process now owns the claim, False if another process does."""
    lock_path = work_dir / f"{claim_id}.lock"
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


class Pipeline:
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
        self.keyer = RecordKeyer(load_or_create_secret(self.layout.hmac_key))
        self._signing_key: SigningKey | None = None

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
        for agency in self.settings.agencies:
            directories.append(self.layout.agency_reports(agency.id))
        for partner in self.settings.partners:
            directories.append(self.layout.partner_outbox(partner.id))
        for directory in directories:
            remove_stale_temps(directory, min_age_seconds=STALE_TEMP_SECONDS)
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
        )
        return moved.name.split(".", 1)[0]

    def _finish_refusal(
        self, moved: Path, *, agency_id: str, fingerprint: str, rule_id: str
    ) -> None:
        write_agency_report(
            self.layout.agency_reports(agency_id),
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
        if moved.is_file() and not moved.is_symlink():
            recipient = self.settings.archive_recipient
            if recipient:
                encrypted = moved.with_name(moved.name + ".age")
                encrypt_file(moved, encrypted, [parse_recipient(recipient)], overwrite=True)
            moved.unlink()

    def _finish_interrupted_refusals(self) -> None:
        """Quarantined plaintext a crash left unencrypted: encrypt it and answer the agency."""
        for sidecar in self.layout.quarantine.glob(f"*{REFUSAL_SIDECAR_SUFFIX}"):
            quarantine_id = sidecar.name.removesuffix(REFUSAL_SIDECAR_SUFFIX)
            moved = self.layout.quarantine / f"{quarantine_id}{QUARANTINE_SUFFIX}"
            if not (moved.is_file() and not moved.is_symlink()):
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

    def process_claim(self, claimed: ClaimedFile) -> FileOutcome | None:
        """Carry one claimed file to its terminal place. None if another process owns it."""
        with claim_lock(self.layout.work, claimed.claim_id) as owned:
            if not owned:
                return None
            return self._process_owned(claimed)

    def _process_owned(self, claimed: ClaimedFile) -> FileOutcome:
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
        view = self.ledger.register_claim(
            claim_id=claimed.claim_id,
            sha256=sha256_file(claimed.path),
            agency_id=agency.id,
            partner_id=agency.partner,
            received_at=claimed.claimed_at,
        )
        failpoint("registered")
        if view.state == FileState.DUPLICATE:
            self._duplicate_notice(claimed, view)
            failpoint("reported")
            self._cleanup(claimed)
            return self._outcome(claimed, view)
        try:
            return self._handoff(claimed, view)
        except FileRejected as rejection:
            return self._reject(
                claimed,
                view,
                rejection.rule_id,
                FileCounts(0, 0, 0, 0, 0),
                [],
                detail=rejection.detail,
            )

    def _duplicate_notice(self, claimed: ClaimedFile, view: FileView) -> None:
        """Tell the agency its file repeats an earlier one (same name every time: idempotent)."""
        original = self.ledger.file(view.duplicate_of) if view.duplicate_of else None
        write_duplicate_notice(
            self.layout.agency_reports(view.agency_id),
            file_ref=view.ref,
            received_at=claimed.claimed_at.astimezone(self.settings.tz),
            original_ref=original.ref if original else "",
            original_received_at=(
                original.received_at.astimezone(self.settings.tz) if original else None
            ),
        )

    def _handoff(self, claimed: ClaimedFile, view: FileView) -> FileOutcome:
        agency = self.settings.agency(view.agency_id)
        context = ValidationContext(
            agency_id=agency.id,
            today=self.today(),
            is_victim_service_provider=agency.victim_service_provider,
            expected_coc=self.settings.coc_code,
            previously_sent=self.ledger.previously_sent(agency.id),
        )
        verdict = self._validate(claimed.path, context)
        problems = verdict.problems
        counts = verdict.counts()
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
        self.ledger.mark_validated(view.id, counts)
        failpoint("validated")

        package: PackageInfo | None = None
        if counts.rows_sent:
            package = self._package(claimed, view, verdict)
        # Rows held for consent or a victim-service agency are listed too, so the agency
        # knows which ones were not sent and why (the gate's rule id; no value).
        not_sent = [
            Problem(
                row=row, column=_GATE_COLUMN.get(reason, ""), rule_id=reason, severity="warning"
            )
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
            view.id, counts=counts, package=package, records=self._records(claimed, verdict)
        )
        failpoint("delivered")
        self._cleanup(claimed)
        return self._outcome(claimed, self.ledger.file(view.id))

    def _chunks(self, path: Path) -> Iterator[pd.DataFrame]:
        """The file as all-text frames of at most CHUNK_ROWS rows (index = row number - 2)."""
        intake = self.settings.intake
        for part in iter_intake_chunks(
            path,
            header_map=canonical_header,
            limits=ReadLimits(max_bytes=intake.max_bytes, max_rows=intake.max_rows),
            chunk_rows=CHUNK_ROWS,
        ):
            yield part.frame

    def _validate(self, path: Path, context: ValidationContext) -> Verdict:
        """Pass 1: row verdicts chunk by chunk, then the cross-row rules over all chunks."""
        run = ChunkedValidation(context)
        verdict = Verdict()
        for frame in self._chunks(path):
            part = run.validate_chunk(frame)
            rows = frame.index.to_numpy() + FIRST_DATA_ROW
            verdict.rows_total += len(frame)
            verdict.sendable.update(rows[np.asarray(part.sendable, dtype=bool)].tolist())
            verdict.held.update(part.not_transmittable)
            verdict.problems.extend(part.problems)
            verdict.spec_version = part.spec_version
        tail = run.finish()
        verdict.sendable -= tail.withheld | tail.errored
        for row in tail.errored:
            verdict.held.pop(row, None)
        verdict.problems = sorted(
            [*verdict.problems, *tail.problems], key=lambda p: (p.row, p.column, p.rule_id)
        )
        verdict.source_format = "xlsx" if path.suffix.lower() == ".xlsx" else "csv"
        return verdict

    def _file_level_rule(self, agency_id: str, verdict: Verdict, counts: FileCounts) -> str | None:
        """A rule id when the whole file must be turned back, else None."""
        mismatched = {p.row for p in verdict.problems if p.rule_id == "AGENCY-MISMATCH"}
        if counts.rows_total and len(mismatched) == counts.rows_total:
            return "FILE-WRONG-AGENCY"
        policy = self.settings.error_policy_for(agency_id)
        if counts.rows_held and policy == "reject_file":
            return "FILE-HAS-ERRORS"
        if counts.rows_sent == 0 and counts.rows_not_transmittable == 0:
            return "FILE-NO-VALID-ROWS"
        return None

    def _package(self, claimed: ClaimedFile, view: FileView, verdict: Verdict) -> PackageInfo:
        """Pass 2: the sendable rows as the payload zip (work area, 0600), encrypted and
        signed. The zip's layout is :mod:`hmis_handoff.payload`; every member is written
        chunk by chunk, so memory stays bounded by a chunk (plus the small worklist)."""
        partner = self.settings.partner(view.partner_id)
        agency = self.settings.agency(view.agency_id)
        package_id = f"{view.received_at.astimezone(self.settings.tz):%Y%m%d}-{view.ref}"
        plain = self.layout.work / f"{claimed.claim_id}.send.csv"
        bundle = self.layout.work / f"{claimed.claim_id}.send.zip"
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
            prefix=f"{claimed.claim_id}.send.hmis-",
        )
        worklist = _WorklistBuilder(self, verdict, view.received_at, local.date())
        try:
            with atomic_writer(plain) as handle:
                text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
                writer = csv.writer(text, lineterminator="\r\n")
                header_written = False
                for frame in self._chunks(claimed.path):
                    columns = [c for c in order if c in frame.columns]
                    if not header_written:
                        writer.writerow(columns)
                        header_written = True
                    rows = frame.index.to_numpy() + FIRST_DATA_ROW
                    keep = np.isin(rows, list(verdict.sendable))
                    chosen = frame.loc[keep, columns]
                    writer.writerows(chosen.itertuples(index=False, name=None))
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
                CONFIRMATION_XLSX: confirmation_sheet_xlsx(ids, view.agency_id, self.layout.work),
                **{HMIS_DIR + name: path for name, path in hmis.finish().items()},
            }
            with atomic_writer(bundle) as handle:
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

    def _remove_send_files(self, claim_id: str) -> None:
        """The plaintext files pass 2 writes for a claim (CSV, HMIS set, zip)."""
        for path in self.layout.work.glob(f"{claim_id}.send.*"):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def due_for(self, intake_date: date, received_at: datetime) -> date:
        """A record's due date: the same rule the ledger records use."""
        if self.settings.calendar.clock_start == "received":
            start = self.calendar.clock_start(received_at.astimezone(self.settings.tz))
        else:
            start = intake_date
        return self.calendar.due_date(start, self.settings.calendar.business_days)

    def _records(self, claimed: ClaimedFile, verdict: Verdict) -> Iterator[NewRecord]:
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
        for frame in self._chunks(claimed.path):
            rows = frame.index.to_numpy() + FIRST_DATA_ROW
            keep = np.isin(rows, tracked)
            selected = frame.loc[keep, [c for c in wanted if c in frame.columns]]
            records: list[dict[str, Any]] = selected.to_dict("records")  # type: ignore[assignment]
            for row_number, row in zip(rows[keep].tolist(), records, strict=True):
                intake_date = date.fromisoformat(str(row["IntakeDate"]))
                start = receipt_start if clock_from_receipt else intake_date
                if start not in due_cache:
                    due_cache[start] = self.calendar.due_date(start, days)
                due = due_cache[start]
                reason = verdict.held.get(row_number)
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
                    person_key=self.keyer.person_key(
                        str(row.get("FirstName", "")),
                        str(row.get("LastName", "")),
                        str(row.get("DOB", "")),
                        str(row.get("SSN", "")),
                    ),
                    **record_match_keys(self.keyer, row),
                )

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
        write_agency_report(
            self.layout.agency_reports(view.agency_id),
            file_ref=view.ref,
            received_at=claimed.claimed_at.astimezone(self.settings.tz),
            outcome_summary=ReportSummary(
                rows_received=counts.rows_total,
                rows_sent=counts.rows_sent,
                rows_held_back=counts.rows_held,
                rows_not_transmittable=counts.rows_not_transmittable,
                warnings=counts.warnings,
                rejected_rule=reject_rule,
                package_ref=package_id,
                rejected_detail=detail or None,
            ),
            problems=[
                ReportProblem(row=p.row, column=p.column, rule_id=p.rule_id, severity=p.severity)
                for p in problems
            ],
            rules=RULES,
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
    ) -> FileOutcome:
        self._report(
            claimed, view, counts, problems, package_id=None, reject_rule=rule_id, detail=detail
        )
        failpoint("reported")
        self._archive(claimed, view, self.layout.quarantine)
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
        target = directory / f"{received:%Y%m%d}-{view.ref}{claimed.suffix}.age"
        encrypt_file(claimed.path, target, [parse_recipient(recipient)], overwrite=True)

    def _remove_claim_temps(self, claimed: ClaimedFile) -> None:
        """Temp files of this claim (we hold its lock, so no one else is writing them)."""
        for temp in self.layout.work.glob(f"{TEMP_PREFIX}*-{claimed.claim_id}.send.*"):
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
        self._remove_send_files(claimed.claim_id)

    def _cleanup(self, claimed: ClaimedFile) -> None:
        """Remove the plaintext original and its claim files from the work area."""
        for path in (
            claimed.path,
            self.layout.work / f"{claimed.claim_id}.send.csv",
            self.layout.work / f"{claimed.claim_id}.send.zip",
            self.layout.work / f"{claimed.claim_id}.claim.json",
        ):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        with contextlib.suppress(FileNotFoundError):
            (self.layout.work / f"{claimed.claim_id}.lock").unlink()
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
        self, pipeline: Pipeline, verdict: Verdict, received_at: datetime, today: date
    ) -> None:
        self._pipeline = pipeline
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
                due = self._pipeline.due_for(intake_date, self._received_at)
                left = self._pipeline.calendar.business_days_between(self._today, due)
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
