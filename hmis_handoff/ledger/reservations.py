"""IntakeID reservations: committed before packaging, so an intake is packaged once.

With several workers, two files that reuse IntakeIDs could both be validated (neither is
delivered yet, so INTAKE-ID-ALREADY-SENT does not fire) and both packaged before the
ledger's unique index fails the second ``mark_delivered``. :func:`reserve_intake_ids`
commits one row per (agency, IntakeID) first; the loser learns which ids another file
holds and never writes a package for those rows. A rejected file releases its ids.

Errors carry no SQL parameters: the engine hides them (``hide_parameters=True``) and the
conflict retry raises fixed text only.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from hmis_handoff.errors import RetriableError
from hmis_handoff.ledger.models import IntakeReservation
from hmis_handoff.ledger.store import Ledger

__all__ = ["release_intake_ids", "reserve_intake_ids"]

_BATCH = 500
_ATTEMPTS = 5


def reserve_intake_ids(
    ledger: Ledger, *, file_id: int, agency_id: str, intake_ids: Iterable[str]
) -> frozenset[str]:
    """Reserve ``intake_ids`` of ``agency_id`` for ``file_id``; return those another file
    already holds (they must not be sent). Idempotent for the file's own reservations.

    A concurrent reservation of the same id makes the commit fail on the unique
    constraint; the transaction is then retried and sees the winner's row. Raises
    ``RetriableError`` if that keeps happening.
    """
    wanted = sorted(set(intake_ids))
    for _attempt in range(_ATTEMPTS):
        try:
            with ledger.session() as session:
                held: dict[str, int] = {}
                for start in range(0, len(wanted), _BATCH):
                    part = wanted[start : start + _BATCH]
                    rows = session.execute(
                        select(IntakeReservation.intake_id, IntakeReservation.file_id).where(
                            IntakeReservation.agency_id == agency_id,
                            IntakeReservation.intake_id.in_(part),
                        )
                    )
                    held.update({intake_id: owner for intake_id, owner in rows})
                new = [
                    {"agency_id": agency_id, "intake_id": intake_id, "file_id": file_id}
                    for intake_id in wanted
                    if intake_id not in held
                ]
                for start in range(0, len(new), _BATCH):
                    session.execute(insert(IntakeReservation), new[start : start + _BATCH])
                return frozenset(i for i, owner in held.items() if owner != file_id)
        except SAIntegrityError:
            continue
    raise RetriableError("IntakeID reservation kept conflicting; try again")


def release_intake_ids(ledger: Ledger, file_id: int) -> None:
    """Drop every reservation of ``file_id`` (it was rejected: its ids may be sent again)."""
    with ledger.session() as session:
        session.execute(delete(IntakeReservation).where(IntakeReservation.file_id == file_id))
