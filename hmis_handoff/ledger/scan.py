"""Fast column scans of the ledger for the deadline check (a million records in about 1 s).

Fetching a million row tuples through a DB-API driver costs seconds before any work is
done, so on SQLite the query makes the database concatenate each record into one
fixed-width ASCII string (ISO dates, a flag and the id) that numpy splits without a Python
object per row. This relies on dates stored as ``YYYY-MM-DD`` text, which is how SQLAlchemy
stores ``Date`` on SQLite; the loader checks it. Other databases use a plain query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import select, text

from hmis_handoff.ledger.models import IntakeRecord, RecordState
from hmis_handoff.ledger.store import Ledger

__all__ = [
    "ID_OFFSET",
    "MAX_PAIRS",
    "NO_DATE",
    "RecordArrays",
    "agency_partner_pairs",
    "load_record_arrays",
    "record_details",
]

NO_DATE = "0001-01-01"  # stands for NULL so that every record keeps the same width
ID_OFFSET = 100_000_000_000  # ids up to 899,999,999,999 print as exactly 12 digits
_RECORD = np.dtype(
    [("due", "S10"), ("entered", "S10"), ("intake", "S10"), ("received", "S10"),
     ("ok", "S1"), ("id", "S12")]
)  # fmt: skip
# Flags need only the due and entry dates: a narrower record halves the scan's cost.
_FLAGS_ONLY = np.dtype([("due", "S10"), ("entered", "S10"), ("ok", "S1"), ("id", "S12")])
MAX_PAIRS = 100_000
_NOT_SENT = RecordState.NOT_TRANSMITTABLE.value


@dataclass(frozen=True)
class RecordArrays:
    """Per-record columns in one order: ids, dates (``datetime64[D]``, NaT = none), flags."""

    ids: npt.NDArray[np.int64]
    intake: npt.NDArray[np.datetime64]
    received: npt.NDArray[np.datetime64]
    due: npt.NDArray[np.datetime64]
    entered: npt.NDArray[np.datetime64]
    transmittable: npt.NDArray[np.bool_]
    #: index into the ``pairs`` list the arrays were loaded with (-1 when not grouped)
    pair: npt.NDArray[np.int32]

    def __len__(self) -> int:
        return len(self.ids)

    def select(self, mask: npt.NDArray[np.bool_]) -> RecordArrays:
        """The records where ``mask`` is True."""
        return RecordArrays(
            ids=self.ids[mask],
            intake=self.intake[mask],
            received=self.received[mask],
            due=self.due[mask],
            entered=self.entered[mask],
            transmittable=self.transmittable[mask],
            pair=self.pair[mask],
        )


def agency_partner_pairs(ledger: Ledger) -> list[tuple[str, str]]:
    """Every (agency, partner) pair that has records, sorted."""
    with ledger.engine.connect() as conn:
        rows = conn.execute(
            select(IntakeRecord.agency_id, IntakeRecord.partner_id).distinct()
        ).all()
    return sorted((str(a), str(p)) for a, p in rows)


def load_record_arrays(
    ledger: Ledger,
    *,
    agency_id: str | None = None,
    partner_id: str | None = None,
    with_start: bool = True,
    pairs: list[tuple[str, str]] | None = None,
) -> RecordArrays:
    """The columns the flags need for every record (optionally one agency and/or partner).

    With ``with_start=False`` the intake and receipt dates are left as NaT (flags do not
    need them), which makes the scan about twice as fast. With ``pairs`` (from
    :func:`agency_partner_pairs`), ``RecordArrays.pair`` gives each record's index in that
    list, so one scan serves every agency-partner pair.
    """
    if pairs is not None and len(pairs) > MAX_PAIRS:
        raise ValueError(f"more than {MAX_PAIRS} agency-partner pairs")
    where, params = _where(agency_id, partner_id)
    if ledger.engine.dialect.name == "sqlite":
        return _load_sqlite(ledger, where, params, with_start, pairs)
    return _load_generic(ledger, where, params, pairs)


def _where(agency_id: str | None, partner_id: str | None) -> tuple[str, dict[str, str]]:
    clauses, params = [], {}
    if agency_id is not None:
        clauses.append("agency_id = :agency")
        params["agency"] = agency_id
    if partner_id is not None:
        clauses.append("partner_id = :partner")
        params["partner"] = partner_id
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _load_sqlite(
    ledger: Ledger,
    where: str,
    params: dict[str, str],
    with_start: bool,
    pairs: list[tuple[str, str]] | None,
) -> RecordArrays:
    record = _RECORD if with_start else _FLAGS_ONLY
    starts = " || intake_date || received_on" if with_start else ""
    value = (
        f"due_date || ifnull(entered_on, '{NO_DATE}'){starts}"
        f" || (CASE WHEN state != '{_NOT_SENT}' THEN 1 ELSE 0 END) || (id + {ID_OFFSET})"
    )
    # Ordered by (agency, partner) along the covering index ix_intake_record_flags, so one
    # scan serves every pair: the group counts (same snapshot) give each pair's slice.
    sql = (
        f"SELECT group_concat(v, '') FROM (SELECT {value} AS v FROM intake_record{where}"
        " ORDER BY agency_id, partner_id)"
    )
    counts_sql = (
        f"SELECT agency_id, partner_id, count(*) FROM intake_record{where}"
        " GROUP BY agency_id, partner_id ORDER BY agency_id, partner_id"
    )
    with ledger.engine.connect() as conn, conn.begin():
        blob = conn.execute(text(sql), params).scalar_one()
        counts = conn.execute(text(counts_sql), params).all() if pairs is not None else []
    buffer = (blob or "").encode("ascii")
    if len(buffer) % record.itemsize:
        raise ValueError("a ledger date column is not 10-character ISO text")
    raw = np.frombuffer(buffer, dtype=record)
    sentinel = np.datetime64(NO_DATE, "D")
    entered = raw["entered"].astype("datetime64[D]")
    entered[entered == sentinel] = np.datetime64("NaT")
    unknown = np.full(len(raw), np.datetime64("NaT"), dtype="datetime64[D]")
    pair = np.full(len(raw), -1, dtype=np.int32)
    if pairs is not None:
        index = {p: n for n, p in enumerate(pairs)}
        codes = [index.get((str(a), str(p)), -1) for a, p, _ in counts]
        pair = np.repeat(np.array(codes, dtype=np.int32), [int(n) for _, _, n in counts])
        if len(pair) != len(raw):
            raise ValueError("the ledger changed during the scan")
    return RecordArrays(
        ids=raw["id"].astype(np.int64) - ID_OFFSET,
        intake=raw["intake"].astype("datetime64[D]") if with_start else unknown,
        received=raw["received"].astype("datetime64[D]") if with_start else unknown,
        due=raw["due"].astype("datetime64[D]"),
        entered=entered,
        transmittable=raw["ok"] == b"1",
        pair=pair,
    )


def _load_generic(
    ledger: Ledger,
    where: str,
    params: dict[str, str],
    pairs: list[tuple[str, str]] | None = None,
) -> RecordArrays:
    sql = (
        "SELECT id, intake_date, received_on, due_date, entered_on, state, agency_id,"
        f" partner_id FROM intake_record{where} ORDER BY id"
    )
    with ledger.engine.connect() as conn:
        rows: list[Any] = list(conn.execute(text(sql), params).all())
    index = {pair: n for n, pair in enumerate(pairs or [])}

    def dates(column: int) -> npt.NDArray[np.datetime64]:
        return np.array([r[column] for r in rows], dtype="datetime64[D]")

    return RecordArrays(
        ids=np.array([r[0] for r in rows], dtype=np.int64),
        intake=dates(1),
        received=dates(2),
        due=dates(3),
        entered=dates(4),
        transmittable=np.array([r[5] != _NOT_SENT for r in rows], dtype=bool),
        pair=np.array([index.get((r[6], r[7]), -1) for r in rows], dtype=np.int32),
    )


def record_details(ledger: Ledger, ids: list[int]) -> list[dict[str, Any]]:
    """Id-level details (intake id, agency, partner, dates) for a bounded list of records."""
    out: list[dict[str, Any]] = []
    columns = (
        IntakeRecord.id, IntakeRecord.intake_id, IntakeRecord.agency_id, IntakeRecord.partner_id,
        IntakeRecord.intake_date, IntakeRecord.due_date, IntakeRecord.submitted_late,
    )  # fmt: skip
    with ledger.engine.connect() as conn:
        for start in range(0, len(ids), 500):
            batch = ids[start : start + 500]
            rows = conn.execute(select(*columns).where(IntakeRecord.id.in_(batch))).all()
            out.extend(dict(row._mapping) for row in rows)
    out.sort(key=lambda row: row["id"])
    return out
