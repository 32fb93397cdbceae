"""The 3-business-day check over the ledger: one flag per record as of a date.

Flags are computed, not stored (``hmis_handoff.timeliness``); the ledger keeps the due date,
the entry date and whether the record could be transmitted. Output is ids and dates only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Literal

import numpy as np
import pandas as pd

from hmis_handoff import clock
from hmis_handoff.business_days import BusinessCalendar, CalendarPolicy
from hmis_handoff.config import Settings
from hmis_handoff.ledger import Ledger, RecordState
from hmis_handoff.ledger.reporting import record_table
from hmis_handoff.ledger.scan import agency_partner_pairs, load_record_arrays
from hmis_handoff.timeliness import (
    Flag,
    TimelinessPolicy,
    flags_vectorised,
    timeliness_summary,
)

__all__ = [
    "DeadlineRow",
    "PairFlags",
    "calendar_for",
    "compute_flags",
    "deadline_report",
    "flag_pairs",
    "load_records",
    "policy_for",
    "timeliness_by",
    "today_in",
]


@dataclass(frozen=True)
class DeadlineRow:
    """One record's standing (ids, dates, flag); the JSON shape of `handoff deadlines`."""

    record_id: int
    intake_id: str
    agency: str
    partner: str
    intake_date: date
    received_on: date
    due: date
    state: str
    entered_on: date | None
    submitted_late: bool
    reason: str | None
    package_id: str | None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("intake_date", "received_on", "due", "entered_on"):
            if out[key] is not None:
                out[key] = out[key].isoformat()
        return out


def calendar_for(settings: Settings) -> BusinessCalendar:
    cal = settings.calendar
    return BusinessCalendar(
        CalendarPolicy(
            calendar=cal.calendar,
            extra_closures=frozenset(cal.extra_closures),
            open_overrides=frozenset(cal.open_overrides),
            cutoff=cal.cutoff,
            timezone=settings.timezone,
        )
    )


def policy_for(settings: Settings) -> TimelinessPolicy:
    return TimelinessPolicy(
        business_days=settings.calendar.business_days,
        due_soon_within=settings.calendar.due_soon_within,
    )


def load_records(ledger: Ledger) -> pd.DataFrame:
    """All records as a frame (one query; dates as datetime64)."""
    frame = record_table(ledger)
    for column in ("intake_date", "received_on", "due_date", "entered_on"):
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[s]")
    return frame


def compute_flags(
    frame: pd.DataFrame, *, as_of: date, calendar: BusinessCalendar, policy: TimelinessPolicy
) -> np.ndarray[Any, np.dtype[np.str_]]:
    """Flags for every row of :func:`load_records`' frame."""
    if frame.empty:
        return np.array([], dtype=str)
    return flags_vectorised(
        frame["due_date"].to_numpy(dtype="datetime64[D]"),
        frame["entered_on"].to_numpy(dtype="datetime64[D]"),
        (frame["state"] != RecordState.NOT_TRANSMITTABLE.value).to_numpy(),
        as_of,
        calendar,
        policy,
    )


def today_in(settings: Settings) -> date:
    """Today in the CoC's timezone (:func:`hmis_handoff.clock.now`: ``HANDOFF_NOW`` moves it)."""
    return clock.now(settings.tz).date()


def deadline_report(
    settings: Settings, *, as_of: date | None = None, ledger: Ledger | None = None
) -> list[DeadlineRow]:
    """Every record with its flag as of ``as_of`` (default: today in the CoC's zone)."""
    own = ledger is None
    ledger = ledger or Ledger(settings.ledger_url)
    try:
        frame = load_records(ledger)
    finally:
        if own:
            ledger.close()
    when = as_of or today_in(settings)
    flags = compute_flags(
        frame, as_of=when, calendar=calendar_for(settings), policy=policy_for(settings)
    )
    rows: list[DeadlineRow] = []
    records: list[dict[str, Any]] = frame.to_dict("records")  # type: ignore[assignment]
    for record, flag in zip(records, flags, strict=True):
        rows.append(
            DeadlineRow(
                record_id=int(record["id"]),
                intake_id=str(record["intake_id"]),
                agency=str(record["agency_id"]),
                partner=str(record["partner_id"]),
                intake_date=_date(record["intake_date"]),
                received_on=_date(record["received_on"]),
                due=_date(record["due_date"]),
                state=str(flag),
                entered_on=None if pd.isna(record["entered_on"]) else _date(record["entered_on"]),
                submitted_late=bool(record["submitted_late"]),
                reason=None if pd.isna(record["reason_rule"]) else str(record["reason_rule"]),
                package_id=None if pd.isna(record["package_id"]) else str(record["package_id"]),
            )
        )
    return rows


@dataclass(frozen=True)
class PairFlags:
    """Flags of one agency-partner pair as of a date: counts and the record ids to act on."""

    agency: str
    partner: str
    counts: dict[str, int]
    due_soon_ids: list[int]
    overdue_ids: list[int]


def flag_pairs(settings: Settings, ledger: Ledger, *, as_of: date) -> list[PairFlags]:
    """Flags for every record, grouped by (agency, partner), from fast column scans."""
    calendar, policy = calendar_for(settings), policy_for(settings)
    pairs = agency_partner_pairs(ledger)
    arrays = load_record_arrays(ledger, with_start=False, pairs=pairs)
    flags = flags_vectorised(
        arrays.due, arrays.entered, arrays.transmittable, as_of, calendar, policy
    )
    out: list[PairFlags] = []
    for index, (agency, partner) in enumerate(pairs):
        mine = arrays.pair == index
        theirs, ids = flags[mine], arrays.ids[mine]
        out.append(
            PairFlags(
                agency=agency,
                partner=partner,
                counts={flag.value: int((theirs == flag.value).sum()) for flag in Flag},
                due_soon_ids=ids[theirs == Flag.DUE_SOON.value].tolist(),
                overdue_ids=ids[theirs == Flag.OVERDUE.value].tolist(),
            )
        )
    return out


def timeliness_by(
    settings: Settings, ledger: Ledger, *, group: Literal["agency", "partner"], as_of: date
) -> list[dict[str, Any]]:
    """Share entered on time and median business days to entry, per agency or partner."""
    calendar, policy = calendar_for(settings), policy_for(settings)
    pairs = agency_partner_pairs(ledger)
    if not pairs:
        return []
    arrays = load_record_arrays(ledger, pairs=pairs)
    side = 0 if group == "agency" else 1
    keys = np.array([pair[side] for pair in pairs], dtype=object)[arrays.pair]
    start = arrays.received if settings.calendar.clock_start == "received" else arrays.intake
    summary = timeliness_summary(
        groups=keys,
        start=start,
        due=arrays.due,
        entered=arrays.entered,
        transmittable=arrays.transmittable,
        as_of=as_of,
        calendar=calendar,
        policy=policy,
    )
    return [
        {
            group: item.group,
            "records": item.records,
            **{flag.value: count for flag, count in item.counts.items()},
            "on_time_share": item.on_time_share,
            "median_business_days_to_entry": item.median_business_days_to_entry,
        }
        for item in summary
    ]


def _date(value: Any) -> date:
    return pd.Timestamp(value).date()
