"""Questions asked before recording that an intake is in HMIS (ids, dates, keyed hashes only).

Both readers work on *transmitted* records (a not-transmittable record was never sent, so
no partner can confirm it). Each is one read transaction; neither writes: the entry itself
goes through :meth:`hmis_handoff.ledger.Ledger.mark_entered`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from hmis_handoff.ledger.models import IntakeRecord, RecordState
from hmis_handoff.ledger.store import Ledger

__all__ = [
    "MatchCandidate",
    "TransmittedRecord",
    "match_candidates",
    "transmitted_records",
]

#: intake ids per ``IN (...)`` list: stays under every database's parameter limit
_ID_BATCH = 500


@dataclass(frozen=True)
class TransmittedRecord:
    """A delivered (or entered) record, as a confirmation names it."""

    record_id: int
    intake_id: str
    agency_id: str
    partner_id: str
    intake_date: date


@dataclass(frozen=True)
class MatchCandidate:
    """A transmitted record of one partner with its client match keys (in the asked order)."""

    record_id: int
    intake_id: str
    agency_id: str
    intake_date: date
    entered_on: date | None
    keys: tuple[str | None, ...]


def transmitted_records(
    ledger: Ledger, *, partner_id: str | None, intake_ids: Iterable[str]
) -> dict[str, list[TransmittedRecord]]:
    """Transmitted records with these intake ids (of ``partner_id`` if given), by intake id.

    One read transaction however many ids are asked (they are queried in batches).
    """
    ids = sorted(set(intake_ids))
    if not ids:
        return {}
    query = select(
        IntakeRecord.id,
        IntakeRecord.intake_id,
        IntakeRecord.agency_id,
        IntakeRecord.partner_id,
        IntakeRecord.intake_date,
    ).where(IntakeRecord.state != RecordState.NOT_TRANSMITTABLE.value)
    if partner_id is not None:
        query = query.where(IntakeRecord.partner_id == partner_id)
    found: dict[str, list[TransmittedRecord]] = defaultdict(list)
    with ledger.session() as session:
        for start in range(0, len(ids), _ID_BATCH):
            batch = query.where(IntakeRecord.intake_id.in_(ids[start : start + _ID_BATCH]))
            for row in session.execute(batch):
                found[row[1]].append(TransmittedRecord(*row))
    return found


def match_candidates(
    ledger: Ledger, partner_id: str, key_columns: Sequence[str]
) -> list[MatchCandidate]:
    """Every transmitted record of ``partner_id``, by record id, with the match keys stored
    in ``key_columns`` (names of ``intake_record`` key columns, e.g. ``match_key_a``).

    Raises ``AttributeError`` for a name that is not a column of the record table.
    """
    columns = [getattr(IntakeRecord, name) for name in key_columns]
    query = (
        select(
            IntakeRecord.id,
            IntakeRecord.intake_id,
            IntakeRecord.agency_id,
            IntakeRecord.intake_date,
            IntakeRecord.entered_on,
            *columns,
        )
        .where(
            IntakeRecord.partner_id == partner_id,
            IntakeRecord.state != RecordState.NOT_TRANSMITTABLE.value,
        )
        .order_by(IntakeRecord.id)
    )
    with ledger.session() as session:
        return [
            MatchCandidate(row[0], row[1], row[2], row[3], row[4], tuple(row[5:]))
            for row in session.execute(query)
        ]
