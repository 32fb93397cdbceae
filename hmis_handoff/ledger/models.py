"""Ledger tables: ids, keyed hashes, dates and states. Never names, SSNs, DOBs or file names.

File states: ``received → validated → delivered`` or ``→ not_sent`` (processed and
answered, but no row left: every row was held for consent or already sent) or
``→ rejected`` or ``→ duplicate``.
Record states: ``delivered → entered``, or ``not_transmittable`` (no release of information,
or a victim-service provider). Timeliness flags (pending, due_soon, overdue, …) are not
stored: they are computed from ``due_date``, ``entered_on`` and an as-of date.

A schema test rejects columns whose names suggest PII; keep it that way.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "NAMING",
    "TERMINAL_FILE_STATES",
    "Base",
    "Delivery",
    "DeliveryState",
    "FileState",
    "IntakeFile",
    "IntakeRecord",
    "IntakeReservation",
    "Package",
    "RecordState",
    "Transition",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class FileState(StrEnum):
    RECEIVED = "received"
    VALIDATED = "validated"
    DELIVERED = "delivered"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    NOT_SENT = "not_sent"


TERMINAL_FILE_STATES = frozenset(
    {FileState.DELIVERED, FileState.REJECTED, FileState.DUPLICATE, FileState.NOT_SENT}
)


class RecordState(StrEnum):
    DELIVERED = "delivered"
    ENTERED = "entered"
    NOT_TRANSMITTABLE = "not_transmittable"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class IntakeFile(Base):
    """One dropped file (one claim). ``sha256`` is the idempotency key of its content."""

    __tablename__ = "intake_file"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(40), unique=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    agency_id: Mapped[str] = mapped_column(String(32), index=True)
    partner_id: Mapped[str] = mapped_column(String(32), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    source_format: Mapped[str | None] = mapped_column(String(8))
    spec_version: Mapped[str | None] = mapped_column(String(8))
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_sent: Mapped[int] = mapped_column(Integer, default=0)
    rows_held: Mapped[int] = mapped_column(Integer, default=0)
    rows_not_transmittable: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    reject_rule: Mapped[str | None] = mapped_column(String(40))
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("intake_file.id"))
    package_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        # The same bytes are accepted once per agency: one row per agency and content hash
        # that is neither a duplicate nor rejected (a rejected file sent again is judged
        # again, so it gets the same answer, not "duplicate"). Migration 0005.
        Index(
            "uq_intake_file_agency_sha256_live",
            "agency_id",
            "sha256",
            unique=True,
            sqlite_where=text("state NOT IN ('duplicate', 'rejected')"),
            postgresql_where=text("state NOT IN ('duplicate', 'rejected')"),
        ),
    )

    @property
    def ref(self) -> str:
        """The short reference shown to agencies and operators."""
        return self.sha256[:12]


class Package(Base):
    """One encrypted package in a partner's outbox (one per delivered file)."""

    __tablename__ = "package"

    package_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("intake_file.id"), unique=True)
    partner_id: Mapped[str] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    record_count: Mapped[int] = mapped_column(Integer)
    ciphertext_sha256: Mapped[str] = mapped_column(String(64))


class IntakeRecord(Base):
    """One client row accepted from a file (delivered, or held as not transmittable)."""

    __tablename__ = "intake_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("intake_file.id"), index=True)
    agency_id: Mapped[str] = mapped_column(String(32))
    partner_id: Mapped[str] = mapped_column(String(32), index=True)
    intake_id: Mapped[str] = mapped_column(String(32))
    row_number: Mapped[int] = mapped_column(Integer)
    person_key: Mapped[str | None] = mapped_column(String(64), index=True)
    match_key: Mapped[str | None] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(20), index=True)
    reason_rule: Mapped[str | None] = mapped_column(String(40))
    package_id: Mapped[str | None] = mapped_column(String(64))
    intake_date: Mapped[date] = mapped_column(Date)
    received_on: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date, index=True)
    submitted_late: Mapped[bool] = mapped_column(Boolean, default=False)
    entered_on: Mapped[date | None] = mapped_column(Date)
    entered_source: Mapped[str | None] = mapped_column(String(16))
    hmis_personal_id: Mapped[str | None] = mapped_column(String(32))
    # HMACs of HUD-hashed identity parts, for reconciling HMIS exports (match_keys.py):
    # a = names + birth date, b = full SSN, c = names + SSN last four. Migration 0002.
    match_key_a: Mapped[str | None] = mapped_column(String(64), index=True)
    match_key_b: Mapped[str | None] = mapped_column(String(64), index=True)
    match_key_c: Mapped[str | None] = mapped_column(String(64), index=True)
    # HMAC of the row as delivered (normalised values): tells an identical re-send from a
    # changed one under the same IntakeID. Migration 0006.
    content_key: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_intake_record_agency_intake", "agency_id", "intake_id"),
        # Covers the deadline check's scan, in (agency, partner) order (ledger/scan.py).
        Index(
            "ix_intake_record_flags",
            "agency_id",
            "partner_id",
            "due_date",
            "entered_on",
            "state",
            "intake_date",
            "received_on",
        ),
        # An intake is delivered once; a not-transmittable one may be re-sent after consent.
        Index(
            "uq_intake_record_sent_once",
            "agency_id",
            "intake_id",
            unique=True,
            sqlite_where=text("state != 'not_transmittable'"),
            postgresql_where=text("state != 'not_transmittable'"),
        ),
    )


class Transition(Base):
    """Append-only audit of file state changes (who/what/when, no content)."""

    __tablename__ = "transition"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("intake_file.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    rule_id: Mapped[str | None] = mapped_column(String(40))


class IntakeReservation(Base):
    """An IntakeID claimed by one file before its package is written (migration 0004).

    Committed before packaging, keyed by (agency, IntakeID): of two workers handing off
    files that reuse IntakeIDs, the loser sees the winner's reservation and never writes a
    package for those rows. Released when the file is rejected.
    """

    __tablename__ = "intake_reservation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[str] = mapped_column(String(32))
    intake_id: Mapped[str] = mapped_column(String(32))
    file_id: Mapped[int] = mapped_column(ForeignKey("intake_file.id"), index=True)

    __table_args__ = (
        UniqueConstraint("agency_id", "intake_id", name="uq_intake_reservation_agency_intake"),
    )


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"


class Delivery(Base):
    """One package on one delivery channel (SFTP push, e-mail): attempts and proof.

    ``remote_ref`` is the file name we gave the package there (the package id, never an
    agency's file name); ``verified_sha256`` is the ciphertext hash read back from the
    remote after upload (SFTP), or the hash of what was attached (e-mail). Migration 0007.
    """

    __tablename__ = "delivery"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    package_id: Mapped[str] = mapped_column(ForeignKey("package.package_id"), index=True)
    partner_id: Mapped[str] = mapped_column(String(32), index=True)
    channel_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    tried_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    remote_ref: Mapped[str | None] = mapped_column(String(160))
    verified_sha256: Mapped[str | None] = mapped_column(String(64))
    error_kind: Mapped[str | None] = mapped_column(String(120))

    __table_args__ = (
        Index("uq_delivery_package_channel", "package_id", "channel_id", unique=True),
    )
