"""Read-only reporting questions over the ledger: ids, dates, counts and rule ids only.

Each function is one read on one connection (the dashboard's intake summary reads files and
held records inside the same transaction) and returns plain typed values, never ORM rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd
from sqlalchemy import select

from hmis_handoff.ledger.models import IntakeFile, IntakeRecord, RecordState
from hmis_handoff.ledger.store import Ledger

__all__ = [
    "DueRecord",
    "FileActivity",
    "HeldReason",
    "IntakeActivity",
    "due_records_from",
    "intake_activity_since",
    "record_table",
]

_RECORD_COLUMNS = (
    IntakeRecord.id,
    IntakeRecord.intake_id,
    IntakeRecord.agency_id,
    IntakeRecord.partner_id,
    IntakeRecord.intake_date,
    IntakeRecord.received_on,
    IntakeRecord.due_date,
    IntakeRecord.entered_on,
    IntakeRecord.state,
    IntakeRecord.reason_rule,
    IntakeRecord.submitted_late,
    IntakeRecord.package_id,
)


def record_table(ledger: Ledger) -> pd.DataFrame:
    """Every record as a frame, by record id (one query): id, intake_id, agency_id,
    partner_id, intake_date, received_on, due_date, entered_on, state, reason_rule,
    submitted_late, package_id.

    Dates come as the driver returns them; the caller converts them.
    """
    with ledger.engine.connect() as connection:
        return pd.read_sql(select(*_RECORD_COLUMNS).order_by(IntakeRecord.id), connection)


@dataclass(frozen=True)
class FileActivity:
    """One received file: its agency, state, row counts and rejection rule."""

    id: int
    agency_id: str
    state: str
    received_at: datetime
    rows_sent: int
    rows_held: int
    rows_not_transmittable: int
    reject_rule: str | None


@dataclass(frozen=True)
class HeldReason:
    """The rule that made one record of a received file not transmittable."""

    agency_id: str
    reason_rule: str | None
    received_at: datetime


@dataclass(frozen=True)
class IntakeActivity:
    """Files received since a moment, and the reasons their records were held."""

    files: tuple[FileActivity, ...]
    held: tuple[HeldReason, ...]


def intake_activity_since(ledger: Ledger, since: datetime) -> IntakeActivity:
    """Files received at or after ``since`` and their not-transmittable records' rules.

    Both lists are read on one connection, in one transaction. ``received_at`` is as
    stored (SQLite drops the zone: the caller treats a naive value as UTC).
    """
    with ledger.engine.connect() as conn:
        files = conn.execute(
            select(
                IntakeFile.id,
                IntakeFile.agency_id,
                IntakeFile.state,
                IntakeFile.received_at,
                IntakeFile.rows_sent,
                IntakeFile.rows_held,
                IntakeFile.rows_not_transmittable,
                IntakeFile.reject_rule,
            ).where(IntakeFile.received_at >= since)
        ).all()
        held = conn.execute(
            select(IntakeRecord.agency_id, IntakeRecord.reason_rule, IntakeFile.received_at)
            .join(IntakeFile, IntakeFile.id == IntakeRecord.file_id)
            .where(IntakeFile.received_at >= since)
            .where(IntakeRecord.state == RecordState.NOT_TRANSMITTABLE.value)
        ).all()
    return IntakeActivity(
        files=tuple(FileActivity(*row) for row in files),
        held=tuple(HeldReason(*row) for row in held),
    )


@dataclass(frozen=True)
class DueRecord:
    """A transmitted record's agency, partner, due date and entry date."""

    agency_id: str
    partner_id: str
    due_date: date
    entered_on: date | None


def due_records_from(ledger: Ledger, first_due: date) -> list[DueRecord]:
    """Transmitted records due on or after ``first_due`` (one query, no order)."""
    with ledger.engine.connect() as conn:
        rows = conn.execute(
            select(
                IntakeRecord.agency_id,
                IntakeRecord.partner_id,
                IntakeRecord.due_date,
                IntakeRecord.entered_on,
            )
            .where(IntakeRecord.due_date >= first_due)
            .where(IntakeRecord.state != RecordState.NOT_TRANSMITTABLE.value)
        ).all()
    return [DueRecord(*row) for row in rows]
