"""Ledger operations for package deliveries: one row per package and channel.

Contract: each function is one short transaction and safe to repeat. A row is created
``pending`` the first time a delivery is attempted; each attempt counts before any byte
moves (so a crash mid-attempt still shows as an attempt); ``delivered`` is terminal and
is never undone or repeated. Rows hold ids, hashes, counts, times and an error *type*.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from hmis_handoff.ledger.models import Delivery, DeliveryState, Package
from hmis_handoff.ledger.store import Ledger

__all__ = [
    "DeliveryView",
    "PackageRef",
    "begin_attempt",
    "delivered_pairs",
    "deliveries",
    "delivery",
    "mark_delivered",
    "note_failure",
    "package",
    "packages_of",
]


@dataclass(frozen=True)
class DeliveryView:
    """A detached view of one delivery row."""

    package_id: str
    partner_id: str
    channel_id: str
    kind: str
    state: str
    attempts: int
    delivered_at: datetime | None
    remote_ref: str | None
    verified_sha256: str | None
    error_kind: str | None


@dataclass(frozen=True)
class PackageRef:
    """A package the ledger knows: id, partner, record count, ciphertext hash."""

    package_id: str
    partner_id: str
    record_count: int
    ciphertext_sha256: str


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _view(row: Delivery) -> DeliveryView:
    return DeliveryView(
        package_id=row.package_id,
        partner_id=row.partner_id,
        channel_id=row.channel_id,
        kind=row.kind,
        state=row.state,
        attempts=row.attempts,
        delivered_at=_aware(row.delivered_at),
        remote_ref=row.remote_ref,
        verified_sha256=row.verified_sha256,
        error_kind=row.error_kind,
    )


def _row(ledger: Ledger, package_id: str, channel_id: str) -> Delivery | None:
    with ledger.session() as session:
        return session.scalars(
            select(Delivery).where(
                Delivery.package_id == package_id, Delivery.channel_id == channel_id
            )
        ).one_or_none()


def delivery(ledger: Ledger, package_id: str, channel_id: str) -> DeliveryView | None:
    """The delivery row of this package on this channel, if any."""
    row = _row(ledger, package_id, channel_id)
    return _view(row) if row is not None else None


def deliveries(ledger: Ledger, package_id: str | None = None) -> list[DeliveryView]:
    """All delivery rows (of one package), ordered by package then channel."""
    query = select(Delivery).order_by(Delivery.package_id, Delivery.channel_id)
    if package_id is not None:
        query = query.where(Delivery.package_id == package_id)
    with ledger.session() as session:
        return [_view(row) for row in session.scalars(query)]


def packages_of(ledger: Ledger, partner_id: str) -> list[PackageRef]:
    """Every package written for this partner, oldest first."""
    with ledger.session() as session:
        rows = session.scalars(
            select(Package).where(Package.partner_id == partner_id).order_by(Package.created_at)
        )
        return [
            PackageRef(r.package_id, r.partner_id, r.record_count, r.ciphertext_sha256)
            for r in rows
        ]


def package(ledger: Ledger, package_id: str) -> PackageRef | None:
    """The package with this id, if the ledger has it."""
    with ledger.session() as session:
        row = session.get(Package, package_id)
        if row is None:
            return None
        return PackageRef(row.package_id, row.partner_id, row.record_count, row.ciphertext_sha256)


def delivered_pairs(ledger: Ledger, partner_id: str) -> set[tuple[str, str]]:
    """(package id, channel id) of every finished delivery of this partner (one query)."""
    with ledger.session() as session:
        rows = session.execute(
            select(Delivery.package_id, Delivery.channel_id).where(
                Delivery.partner_id == partner_id,
                Delivery.state == DeliveryState.DELIVERED.value,
            )
        )
        return {(row[0], row[1]) for row in rows}


def begin_attempt(
    ledger: Ledger, package_id: str, partner_id: str, channel_id: str, kind: str
) -> DeliveryView:
    """Count one attempt (creating the row on the first); returns the row as it now is.

    A row already ``delivered`` is returned unchanged: the caller must not send again.
    """
    now = datetime.now(UTC)
    for _ in range(2):  # a concurrent first insert loses the race once, then updates
        try:
            with ledger.session() as session:
                row = session.scalars(
                    select(Delivery).where(
                        Delivery.package_id == package_id, Delivery.channel_id == channel_id
                    )
                ).one_or_none()
                if row is None:
                    row = Delivery(
                        package_id=package_id,
                        partner_id=partner_id,
                        channel_id=channel_id,
                        kind=kind,
                        state=DeliveryState.PENDING.value,
                        attempts=0,
                        opened_at=now,
                    )
                    session.add(row)
                if row.state != DeliveryState.DELIVERED.value:
                    row.attempts += 1
                    row.tried_at = now
                session.flush()
                return _view(row)
        except SAIntegrityError:
            continue
    raise RuntimeError("delivery row could not be created")


def mark_delivered(
    ledger: Ledger, package_id: str, channel_id: str, *, remote_ref: str, verified_sha256: str
) -> DeliveryView:
    """Record the delivery as done (idempotent: the first proof stays)."""
    with ledger.session() as session:
        row = session.scalars(
            select(Delivery).where(
                Delivery.package_id == package_id, Delivery.channel_id == channel_id
            )
        ).one()
        if row.state != DeliveryState.DELIVERED.value:
            row.state = DeliveryState.DELIVERED.value
            row.delivered_at = datetime.now(UTC)
            row.remote_ref = remote_ref
            row.verified_sha256 = verified_sha256
            row.error_kind = None
        session.flush()
        return _view(row)


def note_failure(ledger: Ledger, package_id: str, channel_id: str, error_kind: str) -> None:
    """Keep the failed attempt's error type (fixed text, never a server reply)."""
    with ledger.session() as session:
        row = session.scalars(
            select(Delivery).where(
                Delivery.package_id == package_id, Delivery.channel_id == channel_id
            )
        ).one()
        if row.state != DeliveryState.DELIVERED.value:
            row.error_kind = error_kind[:120]
