"""Timeliness flags for the 3-business-day entry rule, per record and vectorised.

Pure functions of dates: no ledger, no clock. ``as_of`` is always passed in, so a run
on Monday for "as of last Friday" gives exactly what Friday's run gave.

Flag rules, in order:

1. not transmittable (no release of information, or a victim-service provider): nothing is
   expected of the partner, so ``not_transmittable`` whatever the dates say;
2. entered: ``entered_on_time`` if ``entered_on <= due`` (the due date's whole day counts),
   else ``entered_late``;
3. not entered, ``as_of > due``: ``overdue``;
4. not entered, at most ``due_soon_within`` business days left
   (``business_days_between(as_of, due)``; 0 on the due date itself): ``due_soon``;
5. otherwise ``pending``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import numpy as np
import numpy.typing as npt
import pandas as pd

from hmis_handoff.business_days import BusinessCalendar

__all__ = [
    "BoolArray",
    "DateArray",
    "Flag",
    "GroupTimeliness",
    "TimelinessPolicy",
    "flag_for",
    "flags_vectorised",
    "submitted_late",
    "timeliness_summary",
]

DateArray = npt.NDArray[np.datetime64]
BoolArray = npt.NDArray[np.bool_]


class Flag(StrEnum):
    """Timeliness state of one record as of a date."""

    PENDING = "pending"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    ENTERED_ON_TIME = "entered_on_time"
    ENTERED_LATE = "entered_late"
    NOT_TRANSMITTABLE = "not_transmittable"


@dataclass(frozen=True)
class TimelinessPolicy:
    """How long the partner has, and how early to warn.

    Attributes:
        business_days: business days allowed between day 0 and entry.
        due_soon_within: flag ``due_soon`` when at most this many business days are left.

    Raises:
        ValueError: if either number is negative.
    """

    business_days: int = 3
    due_soon_within: int = 1

    def __post_init__(self) -> None:
        if self.business_days < 0 or self.due_soon_within < 0:
            raise ValueError("business_days and due_soon_within must be >= 0")


def flag_for(
    *,
    due: date,
    as_of: date,
    entered_on: date | None,
    transmittable: bool,
    calendar: BusinessCalendar,
    policy: TimelinessPolicy,
) -> Flag:
    """The flag for one record (rules in the module docstring)."""
    if not transmittable:
        return Flag.NOT_TRANSMITTABLE
    if entered_on is not None:
        return Flag.ENTERED_ON_TIME if entered_on <= due else Flag.ENTERED_LATE
    if as_of > due:
        return Flag.OVERDUE
    if calendar.business_days_between(as_of, due) <= policy.due_soon_within:
        return Flag.DUE_SOON
    return Flag.PENDING


def submitted_late(*, intake_date: date, received_on: date, due: date) -> bool:
    """True if the agency's file arrived after the record was already due.

    Such lateness is the agency's, not the partner's: reports show it apart. A file
    "received" before its own intake date (a mistyped, future-dated intake) is a data
    problem for validation to report, not lateness, so it gives False. Never raises: one
    bad row must not stop a file.
    """
    return received_on > due and received_on >= intake_date


def _as_days(values: npt.ArrayLike) -> DateArray:
    return np.asarray(values).astype("datetime64[D]")


def flags_vectorised(
    due: DateArray,
    entered: DateArray,
    transmittable: BoolArray,
    as_of: date,
    calendar: BusinessCalendar,
    policy: TimelinessPolicy,
) -> npt.NDArray[np.str_]:
    """:func:`flag_for` over arrays: same flags, as strings (the :class:`Flag` values).

    Args:
        due: ``datetime64`` due dates; never NaT.
        entered: ``datetime64`` entry dates, NaT where not entered.
        transmittable: booleans.
        as_of: the date the flags describe.
        calendar: business-day calendar the due dates were computed with.
        policy: timeliness policy (``due_soon_within``).

    Raises:
        ValueError: if the arrays differ in length or a due date is NaT.
    """
    due_d = _as_days(due)
    entered_d = _as_days(entered)
    ok = np.asarray(transmittable, dtype=bool)
    if not (due_d.shape == entered_d.shape == ok.shape):
        raise ValueError("due, entered and transmittable must have the same shape")
    if np.isnat(due_d).any():
        raise ValueError("a due date is missing (NaT)")
    as_of_d = np.datetime64(as_of, "D")
    is_entered = ~np.isnat(entered_d)
    waiting = ~is_entered & (due_d >= as_of_d)
    left = np.full(due_d.shape, np.iinfo(np.int64).max, dtype=np.int64)
    if waiting.any():
        left[waiting] = calendar.business_days_between_many(
            np.full(int(waiting.sum()), as_of_d), due_d[waiting]
        )
    # NaT compares False, so the entered_on <= due test is only meaningful where entered.
    on_time = is_entered & (entered_d <= due_d)
    conditions = [
        ~ok,
        on_time,
        is_entered,
        due_d < as_of_d,
        left <= policy.due_soon_within,
    ]
    choices = [
        Flag.NOT_TRANSMITTABLE.value,
        Flag.ENTERED_ON_TIME.value,
        Flag.ENTERED_LATE.value,
        Flag.OVERDUE.value,
        Flag.DUE_SOON.value,
    ]
    return np.select(conditions, choices, default=Flag.PENDING.value)


@dataclass(frozen=True)
class GroupTimeliness:
    """Timeliness of one group (an agency, a partner, ...) as of a date.

    Attributes:
        group: the group key.
        records: all records in the group.
        counts: records per flag (every flag present, zeros included).
        on_time_share: entered on time / (entered + overdue), over transmittable records
            whose outcome is known; None when none is known yet. Pending and due-soon
            records are left out because they can still go either way.
        median_business_days_to_entry: median of ``business_days_between(start, entered)``
            over entered records; None when none was entered.
    """

    group: str
    records: int
    counts: dict[Flag, int]
    on_time_share: float | None
    median_business_days_to_entry: float | None


def timeliness_summary(
    *,
    groups: Sequence[str] | npt.NDArray[np.object_] | npt.NDArray[np.str_],
    start: DateArray,
    due: DateArray,
    entered: DateArray,
    transmittable: BoolArray,
    as_of: date,
    calendar: BusinessCalendar,
    policy: TimelinessPolicy,
) -> list[GroupTimeliness]:
    """Per-group timeliness, sorted by group.

    ``start`` is each record's day 0 (the date its due date was computed from); the other
    arrays are as for :func:`flags_vectorised`. Raises ValueError on mismatched lengths.
    """
    keys = np.asarray(groups, dtype=object)
    start_d = _as_days(start)
    entered_d = _as_days(entered)
    if keys.shape != start_d.shape:
        raise ValueError("groups and start must have the same shape as the other arrays")
    flags = flags_vectorised(due, entered_d, transmittable, as_of, calendar, policy)
    is_entered = ~np.isnat(entered_d)
    days_to_entry = np.full(keys.shape, np.nan)
    if is_entered.any():
        days_to_entry[is_entered] = calendar.business_days_between_many(
            start_d[is_entered], entered_d[is_entered]
        )
    frame = pd.DataFrame({"group": keys, "flag": flags, "days": days_to_entry})
    counts = frame.groupby(["group", "flag"]).size().unstack(fill_value=0)
    medians = frame.groupby("group")["days"].median()
    out: list[GroupTimeliness] = []
    for group in sorted(counts.index):
        row = counts.loc[group]
        by_flag = {f: int(row.get(f.value, 0)) for f in Flag}
        decided = by_flag[Flag.ENTERED_ON_TIME] + by_flag[Flag.ENTERED_LATE]
        decided += by_flag[Flag.OVERDUE]
        median = medians.loc[group]
        out.append(
            GroupTimeliness(
                group=str(group),
                records=sum(by_flag.values()),
                counts=by_flag,
                on_time_share=by_flag[Flag.ENTERED_ON_TIME] / decided if decided else None,
                median_business_days_to_entry=None if pd.isna(median) else float(median),
            )
        )
    return out
