"""The ledger: the source of truth for where every file and record stands.

Contract: every method is one short transaction and is safe to repeat (a crash between a
side effect and its ledger update is completed by running the same step again). The
content hash is the idempotency key; unique indexes back that up in the database itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, insert, select, update
from sqlalchemy.exc import IntegrityError as SAIntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hmis_handoff.errors import IntegrityError
from hmis_handoff.ledger.models import (
    FileState,
    IntakeFile,
    IntakeRecord,
    Package,
    RecordState,
    Transition,
)
from hmis_handoff.ledger.schema_head import at_head

__all__ = [
    "RECORD_BATCH",
    "FileCounts",
    "FileView",
    "Ledger",
    "NewRecord",
    "PackageInfo",
    "make_engine",
    "utcnow",
]

_MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
#: PostgreSQL advisory lock key held while migrating ("hmishand" in ASCII).
_MIGRATE_LOCK = 0x686D697368616E64


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class FileView:
    """A detached, PII-free view of one ledger file row."""

    id: int
    claim_id: str
    sha256: str
    agency_id: str
    partner_id: str
    state: str
    received_at: datetime
    duplicate_of: int | None
    package_id: str | None
    reject_rule: str | None
    rows_total: int
    rows_sent: int
    rows_held: int
    rows_not_transmittable: int
    warnings: int

    @property
    def ref(self) -> str:
        return self.sha256[:12]


@dataclass(frozen=True)
class FileCounts:
    rows_total: int
    rows_sent: int
    rows_held: int
    rows_not_transmittable: int
    warnings: int
    spec_version: str | None = None
    source_format: str | None = None


@dataclass(frozen=True)
class NewRecord:
    intake_id: str
    row_number: int
    state: RecordState
    intake_date: date
    received_on: date
    due_date: date
    submitted_late: bool
    reason_rule: str | None = None
    person_key: str | None = None
    match_key: str | None = None
    match_key_a: str | None = None
    match_key_b: str | None = None
    match_key_c: str | None = None
    content_key: str | None = None


@dataclass(frozen=True)
class PackageInfo:
    package_id: str
    created_at: datetime
    record_count: int
    ciphertext_sha256: str


def _aware(moment: datetime) -> datetime:
    """SQLite drops the zone of stored datetimes; everything we store is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _view(row: IntakeFile) -> FileView:
    return FileView(
        id=row.id,
        claim_id=row.claim_id,
        sha256=row.sha256,
        agency_id=row.agency_id,
        partner_id=row.partner_id,
        state=row.state,
        received_at=_aware(row.received_at),
        duplicate_of=row.duplicate_of,
        package_id=row.package_id,
        reject_rule=row.reject_rule,
        rows_total=row.rows_total,
        rows_sent=row.rows_sent,
        rows_held=row.rows_held,
        rows_not_transmittable=row.rows_not_transmittable,
        warnings=row.warnings,
    )


RECORD_BATCH = 5_000


def _record_values(row: IntakeFile, rec: NewRecord, package_id: str | None) -> dict[str, Any]:
    return {
        "file_id": row.id,
        "agency_id": row.agency_id,
        "partner_id": row.partner_id,
        "intake_id": rec.intake_id,
        "row_number": rec.row_number,
        "state": rec.state.value,
        "reason_rule": rec.reason_rule,
        "package_id": package_id if rec.state == RecordState.DELIVERED else None,
        "intake_date": rec.intake_date,
        "received_on": rec.received_on,
        "due_date": rec.due_date,
        "submitted_late": rec.submitted_late,
        "person_key": rec.person_key,
        "match_key": rec.match_key,
        "match_key_a": rec.match_key_a,
        "match_key_b": rec.match_key_b,
        "match_key_c": rec.match_key_c,
        "content_key": rec.content_key,
    }


def make_engine(url: str) -> Engine:
    """An engine with durable settings: SQLite in WAL with synchronous=FULL."""
    if url.startswith("sqlite"):
        # hide_parameters: a failing statement's message must not carry intake ids or HMACs.
        engine = create_engine(url, connect_args={"timeout": 60}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


class Ledger:
    """Ledger operations over one database (SQLite by default, PostgreSQL at scale)."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        if url.startswith("sqlite:///"):
            db_path = Path(url.removeprefix("sqlite:///"))
            db_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not db_path.exists():
                db_path.touch(mode=0o600)
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        if migrate:
            self.migrate()

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (safe to call every start).

        All or nothing, on SQLite too: a crash mid-migration leaves the previous schema.
        """
        if at_head(self.engine, _MIGRATIONS / "versions"):
            return  # the usual start: Alembic (a quarter second to import) not needed
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        if self.engine.dialect.name != "sqlite":
            with self.engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    # Several workers starting at once on a new ledger would each create the
                    # tables; the loser's CREATE fails. One migrates, the others wait, then
                    # find the schema at head. The lock ends with the transaction.
                    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATE_LOCK})")
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
            return
        with self.engine.connect() as connection:
            driver = connection.connection.driver_connection
            assert driver is not None
            # Python's sqlite3 commits before every DDL statement in its default mode, so a
            # process killed between two CREATE TABLEs left a half-made schema that no later
            # start could migrate. Our own BEGIN makes the whole upgrade one transaction.
            previous = driver.isolation_level
            driver.isolation_level = None
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                connection.commit()
            except BaseException:
                connection.rollback()
                raise
            finally:
                driver.isolation_level = previous

    def close(self) -> None:
        self.engine.dispose()

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    # Files ----------------------------------------------------------------------------

    def register_claim(
        self,
        *,
        claim_id: str,
        sha256: str,
        agency_id: str,
        partner_id: str,
        received_at: datetime,
    ) -> FileView:
        """Record a claimed file once; a second content-identical file becomes ``duplicate``.

        Duplicates are per agency (another agency's identical bytes are judged on their
        own: telling agency B about agency A's file would disclose it), and only an
        accepted original counts: bytes that were rejected are judged again, so a resent
        refused file gets the same refusal with its rows, not "duplicate".

        Idempotent per ``claim_id``: calling again returns the existing row unchanged.
        """
        existing = self.file_by_claim(claim_id)
        if existing is not None:
            return existing
        for _attempt in range(3):
            try:
                with self.session() as session:
                    original = session.scalar(
                        select(IntakeFile).where(
                            IntakeFile.agency_id == agency_id,
                            IntakeFile.sha256 == sha256,
                            IntakeFile.state.not_in((FileState.DUPLICATE, FileState.REJECTED)),
                        )
                    )
                    row = IntakeFile(
                        claim_id=claim_id,
                        sha256=sha256,
                        agency_id=agency_id,
                        partner_id=partner_id,
                        state=FileState.DUPLICATE if original else FileState.RECEIVED,
                        duplicate_of=original.id if original else None,
                        received_at=received_at,
                        updated_at=utcnow(),
                    )
                    session.add(row)
                    session.flush()
                    session.add(
                        Transition(file_id=row.id, from_state=None, to_state=row.state, at=utcnow())
                    )
                    return _view(row)
            except SAIntegrityError:
                # Lost a race: another worker registered this claim or these bytes first.
                existing = self.file_by_claim(claim_id)
                if existing is not None:
                    return existing
        raise IntegrityError("could not register claim after 3 attempts (unique conflicts)")

    def file_by_claim(self, claim_id: str) -> FileView | None:
        with self.session() as session:
            row = session.scalar(select(IntakeFile).where(IntakeFile.claim_id == claim_id))
            return _view(row) if row else None

    def file(self, file_id: int) -> FileView:
        with self.session() as session:
            row = session.get(IntakeFile, file_id)
            if row is None:
                raise IntegrityError(f"ledger has no file {file_id}")
            return _view(row)

    def files(self, *, agency_id: str | None = None) -> list[FileView]:
        with self.session() as session:
            query = select(IntakeFile).order_by(IntakeFile.id)
            if agency_id:
                query = query.where(IntakeFile.agency_id == agency_id)
            return [_view(row) for row in session.scalars(query)]

    def _transition(
        self,
        session: Session,
        row: IntakeFile,
        to_state: FileState,
        *,
        allowed_from: Iterable[FileState],
        rule_id: str | None = None,
    ) -> bool:
        """Move ``row`` to ``to_state``; False (no change) if it is already there."""
        if row.state == to_state:
            return False
        if row.state not in set(allowed_from):
            raise IntegrityError(
                f"file {row.id}: illegal transition {row.state} -> {to_state.value}"
            )
        session.add(
            Transition(
                file_id=row.id,
                from_state=row.state,
                to_state=to_state,
                at=utcnow(),
                rule_id=rule_id,
            )
        )
        row.state = to_state
        row.updated_at = utcnow()
        return True

    @staticmethod
    def _apply_counts(row: IntakeFile, counts: FileCounts) -> None:
        row.rows_total = counts.rows_total
        row.rows_sent = counts.rows_sent
        row.rows_held = counts.rows_held
        row.rows_not_transmittable = counts.rows_not_transmittable
        row.warnings = counts.warnings
        if counts.spec_version:
            row.spec_version = counts.spec_version
        if counts.source_format:
            row.source_format = counts.source_format

    def mark_validated(self, file_id: int, counts: FileCounts) -> None:
        with self.session() as session:
            row = self._locked(session, file_id)
            if row.state == FileState.RECEIVED:
                self._apply_counts(row, counts)
                self._transition(
                    session, row, FileState.VALIDATED, allowed_from=[FileState.RECEIVED]
                )

    def mark_rejected(self, file_id: int, rule_id: str, counts: FileCounts) -> None:
        with self.session() as session:
            row = self._locked(session, file_id)
            if row.state == FileState.REJECTED:
                return
            self._apply_counts(row, counts)
            row.reject_rule = rule_id
            self._transition(
                session,
                row,
                FileState.REJECTED,
                allowed_from=[FileState.RECEIVED, FileState.VALIDATED],
                rule_id=rule_id,
            )

    def mark_delivered(
        self,
        file_id: int,
        *,
        counts: FileCounts,
        package: PackageInfo | None,
        records: Iterable[NewRecord],
    ) -> None:
        """Records, package and the ``delivered`` state land in one transaction.

        ``records`` may be a generator: it is consumed inside the transaction in batches,
        so a million-row file never holds all its records in memory.

        ``package`` is None when no row could be sent but some were accepted as
        not transmittable or were already sent: nothing leaves, yet the file is answered
        and tracked, and its state is ``not_sent`` (never ``delivered``).
        """
        target = FileState.DELIVERED if package is not None else FileState.NOT_SENT
        with self.session() as session:
            row = self._locked(session, file_id)
            if row.state == target:
                return
            self._apply_counts(row, counts)
            if package is not None:
                session.add(
                    Package(
                        package_id=package.package_id,
                        file_id=row.id,
                        partner_id=row.partner_id,
                        created_at=package.created_at,
                        record_count=package.record_count,
                        ciphertext_sha256=package.ciphertext_sha256,
                    )
                )
                row.package_id = package.package_id
            package_id = package.package_id if package else None
            batch: list[dict[str, Any]] = []
            for rec in records:
                batch.append(_record_values(row, rec, package_id))
                if len(batch) >= RECORD_BATCH:
                    session.execute(insert(IntakeRecord), batch)
                    batch = []
            if batch:
                session.execute(insert(IntakeRecord), batch)
            self._transition(
                session,
                row,
                target,
                allowed_from=[FileState.RECEIVED, FileState.VALIDATED],
            )

    @staticmethod
    def _locked(session: Session, file_id: int) -> IntakeFile:
        row = session.scalar(select(IntakeFile).where(IntakeFile.id == file_id).with_for_update())
        if row is None:
            raise IntegrityError(f"ledger has no file {file_id}")
        return row

    # Records --------------------------------------------------------------------------

    def previously_sent(self, agency_id: str) -> frozenset[str]:
        """IntakeIDs of this agency already delivered (or entered)."""
        with self.session() as session:
            ids = session.scalars(
                select(IntakeRecord.intake_id).where(
                    IntakeRecord.agency_id == agency_id,
                    IntakeRecord.state != RecordState.NOT_TRANSMITTABLE,
                )
            )
            return frozenset(ids)

    def sent_content(self, agency_id: str) -> dict[str, str | None]:
        """IntakeID -> content key of the delivered row, for this agency's delivered (or
        entered) intakes; ``None`` for rows delivered before content keys were kept."""
        with self.session() as session:
            pairs = session.execute(
                select(IntakeRecord.intake_id, IntakeRecord.content_key).where(
                    IntakeRecord.agency_id == agency_id,
                    IntakeRecord.state != RecordState.NOT_TRANSMITTABLE,
                )
            )
            return {intake_id: key for intake_id, key in pairs}

    def records(self, *, partner_id: str | None = None) -> list[IntakeRecord]:
        with self.session() as session:
            query = select(IntakeRecord).order_by(IntakeRecord.id)
            if partner_id:
                query = query.where(IntakeRecord.partner_id == partner_id)
            return list(session.scalars(query))

    def mark_entered(
        self,
        *,
        record_id: int,
        entered_on: date,
        source: str,
        hmis_personal_id: str | None = None,
    ) -> bool:
        """Record entry into HMIS; the earliest evidence wins. False if nothing changed."""
        with self.session() as session:
            rec = session.get(IntakeRecord, record_id)
            if rec is None or rec.state == RecordState.NOT_TRANSMITTABLE:
                return False
            if rec.entered_on is not None and rec.entered_on <= entered_on:
                return False
            session.execute(
                update(IntakeRecord)
                .where(IntakeRecord.id == record_id)
                .values(
                    state=RecordState.ENTERED,
                    entered_on=entered_on,
                    entered_source=source,
                    hmis_personal_id=hmis_personal_id or rec.hmis_personal_id,
                )
            )
            return True

    # Reporting ------------------------------------------------------------------------

    def file_state_counts(self) -> dict[tuple[str, str, str], int]:
        """(agency, partner, state) -> number of files."""
        with self.session() as session:
            rows = session.execute(
                select(
                    IntakeFile.agency_id, IntakeFile.partner_id, IntakeFile.state, func.count()
                ).group_by(IntakeFile.agency_id, IntakeFile.partner_id, IntakeFile.state)
            )
            return {(a, p, s): n for a, p, s, n in rows}

    def record_state_counts(self) -> dict[tuple[str, str, str], int]:
        """(agency, partner, state) -> number of records."""
        with self.session() as session:
            rows = session.execute(
                select(
                    IntakeRecord.agency_id,
                    IntakeRecord.partner_id,
                    IntakeRecord.state,
                    func.count(),
                ).group_by(IntakeRecord.agency_id, IntakeRecord.partner_id, IntakeRecord.state)
            )
            return {(a, p, s): n for a, p, s, n in rows}
