"""Timeliness flags: the rules, the vectorised path agreeing with them, and the summary."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hmis_handoff.business_days import BusinessCalendar
from hmis_handoff.timeliness import (
    Flag,
    TimelinessPolicy,
    flag_for,
    flags_vectorised,
    submitted_late,
    timeliness_summary,
)

CAL = BusinessCalendar()
POLICY = TimelinessPolicy()
DUE = date(2026, 2, 18)  # Wed; intake Wed Feb 11, Lincoln Day and Washington's Birthday between


@pytest.mark.parametrize(
    ("as_of", "entered_on", "transmittable", "flag"),
    [
        (date(2026, 2, 11), None, True, Flag.PENDING),
        (date(2026, 2, 13), None, True, Flag.PENDING),  # Tue 17 and Wed 18 still to come
        (date(2026, 2, 14), None, True, Flag.PENDING),  # Saturday: still two business days
        (date(2026, 2, 16), None, True, Flag.PENDING),  # holiday Monday: two to go
        (date(2026, 2, 17), None, True, Flag.DUE_SOON),  # one business day left
        (date(2026, 2, 18), None, True, Flag.DUE_SOON),  # the due date itself still counts
        (date(2026, 2, 19), None, True, Flag.OVERDUE),
        (date(2026, 2, 19), date(2026, 2, 18), True, Flag.ENTERED_ON_TIME),
        (date(2026, 2, 12), date(2026, 2, 12), True, Flag.ENTERED_ON_TIME),
        (date(2026, 3, 1), date(2026, 2, 19), True, Flag.ENTERED_LATE),
        (date(2026, 3, 1), None, False, Flag.NOT_TRANSMITTABLE),
        (date(2026, 3, 1), date(2026, 2, 19), False, Flag.NOT_TRANSMITTABLE),
    ],
)
def test_flag_rules(as_of: date, entered_on: date | None, transmittable: bool, flag: Flag) -> None:
    """Each rule of the module docstring, around a due date with holidays before it."""
    got = flag_for(
        due=DUE,
        as_of=as_of,
        entered_on=entered_on,
        transmittable=transmittable,
        calendar=CAL,
        policy=POLICY,
    )
    assert got is flag


def test_due_soon_window_is_configurable() -> None:
    """due_soon_within=0 warns only on the due date; 2 warns from Monday 16 (a holiday)."""
    kwargs = {"due": DUE, "entered_on": None, "transmittable": True, "calendar": CAL}
    none = TimelinessPolicy(due_soon_within=0)
    two = TimelinessPolicy(due_soon_within=2)
    assert flag_for(as_of=date(2026, 2, 17), policy=none, **kwargs) is Flag.PENDING  # type: ignore[arg-type]
    assert flag_for(as_of=date(2026, 2, 18), policy=none, **kwargs) is Flag.DUE_SOON  # type: ignore[arg-type]
    assert flag_for(as_of=date(2026, 2, 16), policy=two, **kwargs) is Flag.DUE_SOON  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        TimelinessPolicy(due_soon_within=-1)


@pytest.mark.parametrize(
    ("intake", "received", "due", "late"),
    [
        (date(2026, 2, 11), date(2026, 2, 11), date(2026, 2, 18), False),
        (date(2026, 2, 11), date(2026, 2, 18), date(2026, 2, 18), False),  # on the due day
        (date(2026, 2, 11), date(2026, 2, 19), date(2026, 2, 18), True),
        (date(2026, 3, 1), date(2026, 2, 20), date(2026, 2, 19), False),  # future-dated intake
    ],
)
def test_submitted_late(intake: date, received: date, due: date, late: bool) -> None:
    """Late submission is the agency's file arriving after the record was due."""
    assert submitted_late(intake_date=intake, received_on=received, due=due) is late


records = st.lists(
    st.tuples(
        st.dates(min_value=date(2025, 12, 1), max_value=date(2027, 1, 31)),
        st.none() | st.integers(min_value=-5, max_value=15),
        st.booleans(),
    ),
    min_size=1,
    max_size=60,
)


@given(
    records,
    st.dates(min_value=date(2025, 12, 1), max_value=date(2027, 1, 31)),
    st.integers(min_value=0, max_value=3),
)
def test_vectorised_flags_match_scalar(
    rows: list[tuple[date, int | None, bool]], as_of: date, within: int
) -> None:
    """flags_vectorised gives flag_for, record by record."""
    policy = TimelinessPolicy(due_soon_within=within)
    due = [d for d, _, _ in rows]
    entered = [None if off is None else d + timedelta(days=off) for d, off, _ in rows]
    ok = [t for _, _, t in rows]
    got = flags_vectorised(
        np.array(due, dtype="datetime64[D]"),
        np.array(["NaT" if e is None else e.isoformat() for e in entered], dtype="datetime64[D]"),
        np.array(ok),
        as_of,
        CAL,
        policy,
    )
    want = [
        flag_for(
            due=d, as_of=as_of, entered_on=e, transmittable=t, calendar=CAL, policy=policy
        ).value
        for d, e, t in zip(due, entered, ok, strict=True)
    ]
    assert got.tolist() == want


def test_vectorised_refuses_missing_due_dates_and_ragged_input() -> None:
    """A NaT due date or arrays of different lengths are caller errors."""
    one = np.array(["2026-02-18"], dtype="datetime64[D]")
    nat = np.array(["NaT"], dtype="datetime64[D]")
    with pytest.raises(ValueError):
        flags_vectorised(nat, nat, np.array([True]), date(2026, 2, 1), CAL, POLICY)
    with pytest.raises(ValueError):
        flags_vectorised(
            one, np.concat([nat, nat]), np.array([True]), date(2026, 2, 1), CAL, POLICY
        )


def test_million_flags_take_every_value() -> None:
    """1,000,000 records flag in one vectorised call (its speed: bench/deadlines.py)."""
    rng = np.random.default_rng(3)
    size = 1_000_000
    due = np.datetime64("2026-01-01") + rng.integers(0, 365, size).astype("timedelta64[D]")
    entered = due + rng.integers(-3, 6, size).astype("timedelta64[D]")
    entered[rng.random(size) < 0.4] = np.datetime64("NaT")
    ok = rng.random(size) > 0.05
    flags = flags_vectorised(due, entered, ok, date(2026, 7, 1), CAL, POLICY)
    assert len(flags) == size
    assert set(flags.tolist()) == {f.value for f in Flag}


def test_summary_by_group() -> None:
    """On-time share over decided records; median business days from day 0 to entry."""
    d = np.datetime64
    nat = d("NaT")
    groups = ["a", "a", "a", "a", "b", "b"]
    start = np.array([d("2026-02-11")] * 4 + [d("2026-11-25")] * 2, dtype="datetime64[D]")
    due = CAL.due_dates(start, 3)  # Feb 18 and Dec 1
    entered = np.array(
        [d("2026-02-13"), d("2026-02-19"), nat, nat, d("2026-11-30"), nat],
        dtype="datetime64[D]",
    )
    ok = np.array([True, True, True, False, True, True])
    summary = timeliness_summary(
        groups=groups,
        start=start,
        due=due,
        entered=entered,
        transmittable=ok,
        as_of=date(2026, 11, 30),
        calendar=CAL,
        policy=POLICY,
    )
    a, b = summary
    assert a.group == "a" and a.records == 4
    assert a.counts[Flag.ENTERED_ON_TIME] == 1 and a.counts[Flag.ENTERED_LATE] == 1
    assert a.counts[Flag.OVERDUE] == 1 and a.counts[Flag.NOT_TRANSMITTABLE] == 1
    assert a.on_time_share == pytest.approx(1 / 3)
    # Feb 13 is 1 business day after Feb 11 (Lincoln Day between); Feb 19 is 4.
    assert a.median_business_days_to_entry == pytest.approx(2.5)
    assert b.counts[Flag.ENTERED_ON_TIME] == 1 and b.counts[Flag.DUE_SOON] == 1
    assert b.on_time_share == 1.0
    # Nov 25 -> Nov 30: Thanksgiving Thu 26 closed, Fri 27 and Mon 30 count.
    assert b.median_business_days_to_entry == 2.0


def test_summary_with_nothing_decided() -> None:
    """A group with only pending records has no share and no median."""
    start = np.array(["2026-02-11"], dtype="datetime64[D]")
    (only,) = timeliness_summary(
        groups=["x"],
        start=start,
        due=CAL.due_dates(start, 3),
        entered=np.array(["NaT"], dtype="datetime64[D]"),
        transmittable=np.array([True]),
        as_of=date(2026, 2, 11),
        calendar=CAL,
        policy=POLICY,
    )
    assert only.on_time_share is None and only.median_business_days_to_entry is None
    assert only.counts[Flag.PENDING] == 1
