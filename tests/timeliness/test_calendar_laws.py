"""Calendar laws (Hypothesis), clock start, and the vectorised path agreeing with the scalar one."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from hmis_handoff.business_days import BusinessCalendar, CalendarPolicy

CHICAGO = ZoneInfo("America/Chicago")
POLICIES = {
    "us-mo": CalendarPolicy(),
    "us-federal": CalendarPolicy(calendar="us-federal"),
    "mo-with-config": CalendarPolicy(
        extra_closures=frozenset({date(2026, 11, 27), date(2027, 11, 26), date(2025, 12, 26)}),
        open_overrides=frozenset({date(2026, 10, 12), date(2027, 5, 7)}),
    ),
}
CALENDARS = {name: BusinessCalendar(policy) for name, policy in POLICIES.items()}

calendars = st.sampled_from(sorted(CALENDARS)).map(CALENDARS.__getitem__)
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2029, 12, 31))
counts = st.integers(min_value=0, max_value=40)


@given(calendars, days, st.integers(min_value=1, max_value=40))
def test_due_date_is_a_business_day(cal: BusinessCalendar, start: date, n: int) -> None:
    """For n >= 1 the n-th business day after any start is a business day."""
    assert cal.is_business_day(cal.add_business_days(start, n))


@given(calendars, days, days, counts)
def test_monotone_in_start(cal: BusinessCalendar, a: date, b: date, n: int) -> None:
    """A later start never gives an earlier due date."""
    early, late = sorted((a, b))
    assert cal.add_business_days(early, n) <= cal.add_business_days(late, n)


@given(calendars, days, counts)
def test_exactly_n_apart(cal: BusinessCalendar, start: date, n: int) -> None:
    """business_days_between(start, add_business_days(start, n)) == n, from any start."""
    assert cal.business_days_between(start, cal.add_business_days(start, n)) == n


@given(calendars, days, counts, counts)
def test_additive_from_a_business_day(cal: BusinessCalendar, a: date, m: int, n: int) -> None:
    """Adding m then n business days equals adding m + n, starting on a business day."""
    assume(cal.is_business_day(a))
    assert cal.add_business_days(a, m + n) == cal.add_business_days(cal.add_business_days(a, m), n)


@given(calendars, days, days)
def test_between_is_antisymmetric(cal: BusinessCalendar, a: date, b: date) -> None:
    """Counting backwards gives the negated count."""
    assert cal.business_days_between(a, b) == -cal.business_days_between(b, a)


def test_negative_n_is_refused() -> None:
    """There is no business day before day 0 in this API."""
    with pytest.raises(ValueError):
        BusinessCalendar().add_business_days(date(2026, 1, 5), -1)


# -- clock start ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "day_zero"),
    [
        (datetime(2026, 2, 11, 9, 0, tzinfo=CHICAGO), date(2026, 2, 11)),
        (datetime(2026, 2, 11, 17, 0, tzinfo=CHICAGO), date(2026, 2, 11)),  # at the cutoff
        (datetime(2026, 2, 11, 17, 0, 1, tzinfo=CHICAGO), date(2026, 2, 13)),  # Lincoln Day
        (datetime(2026, 2, 12, 2, 0, tzinfo=UTC), date(2026, 2, 13)),  # Wed 20:00 in Chicago
        (datetime(2026, 2, 11, 22, 0, tzinfo=UTC), date(2026, 2, 11)),  # Wed 16:00 in Chicago
        (datetime(2026, 2, 14, 10, 0, tzinfo=CHICAGO), date(2026, 2, 17)),  # Sat; Mon holiday
        (datetime(2026, 2, 13, 18, 0, tzinfo=CHICAGO), date(2026, 2, 17)),  # Fri evening
        # The same 22:30 UTC is 16:30 CST on Fri Mar 6 but 17:30 CDT on Mon Mar 9 (DST).
        (datetime(2026, 3, 6, 22, 30, tzinfo=UTC), date(2026, 3, 6)),
        (datetime(2026, 3, 9, 22, 30, tzinfo=UTC), date(2026, 3, 10)),
    ],
)
def test_clock_start(received: datetime, day_zero: date) -> None:
    """Day 0 is the local receipt date, or the next business day after the cutoff or off-days."""
    assert BusinessCalendar().clock_start(received) == day_zero


def test_clock_start_custom_cutoff() -> None:
    """A noon cutoff moves a 13:00 receipt to the next business day."""
    cal = BusinessCalendar(CalendarPolicy(cutoff=time(12, 0)))
    assert cal.clock_start(datetime(2026, 3, 3, 13, 0, tzinfo=CHICAGO)) == date(2026, 3, 4)
    assert cal.clock_start(datetime(2026, 3, 3, 11, 59, tzinfo=CHICAGO)) == date(2026, 3, 3)


def test_clock_start_refuses_naive_times() -> None:
    """A naive datetime has no zone to convert from."""
    with pytest.raises(ValueError):
        BusinessCalendar().clock_start(datetime(2026, 3, 3, 9, 0))


@given(
    calendars,
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31)),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20)),
)
def test_clock_start_is_monotone(cal: BusinessCalendar, naive: datetime, gap: timedelta) -> None:
    """Later receipt never means an earlier day 0 or due date (Fri 18:00 vs Saturday)."""
    first = naive.replace(tzinfo=UTC)
    later = first + gap
    assert cal.clock_start(first) <= cal.clock_start(later)
    assert cal.is_business_day(cal.clock_start(first))


# -- vectorised agreement -------------------------------------------------------------------

ALL_DAYS = np.arange(np.datetime64("2025-01-01"), np.datetime64("2029-01-01"))


@pytest.mark.parametrize("name", sorted(CALENDARS))
@pytest.mark.parametrize("n", [0, 1, 3, 5, 12])
def test_due_dates_match_scalar_every_day_2025_2028(name: str, n: int) -> None:
    """numpy.busday_offset with our holidays gives add_business_days for every day."""
    cal = CALENDARS[name]
    vectorised = cal.due_dates(ALL_DAYS, n)
    scalar = [cal.add_business_days(d, n) for d in ALL_DAYS.astype(date)]
    assert vectorised.astype(date).tolist() == scalar


@pytest.mark.parametrize("name", sorted(CALENDARS))
def test_between_many_matches_scalar(name: str) -> None:
    """Vectorised counting agrees with the scalar count, both directions."""
    cal = CALENDARS[name]
    rng = np.random.default_rng(7)
    starts = rng.choice(ALL_DAYS, 3000)
    ends = starts + rng.integers(-40, 40, 3000).astype("timedelta64[D]")
    got = cal.business_days_between_many(starts, ends)
    want = [
        cal.business_days_between(s, e)
        for s, e in zip(starts.astype(date), ends.astype(date), strict=True)
    ]
    assert got.tolist() == want


def test_due_dates_keeps_series_shape_and_nat() -> None:
    """A Series in gives a Series out with the same index and name; NaT stays NaT."""
    cal = BusinessCalendar()
    starts = pd.Series(
        pd.to_datetime(["2026-02-11", "NaT", "2026-11-25"]), index=[10, 20, 30], name="intake"
    )
    due = cal.due_dates(starts, 3)
    assert isinstance(due, pd.Series)
    assert list(due.index) == [10, 20, 30] and due.name == "intake"
    assert due[10] == pd.Timestamp("2026-02-18") and due[30] == pd.Timestamp("2026-12-01")
    assert pd.isna(due[20])


def test_due_dates_late_december_reaches_next_year_holidays() -> None:
    """A start in late December sees January holidays of the next year."""
    cal = BusinessCalendar()
    got = cal.due_dates(np.array(["2026-12-29"], dtype="datetime64[D]"), 3)
    assert got[0] == np.datetime64("2027-01-04")


def test_million_due_dates_agree_with_the_one_at_a_time_rule() -> None:
    """1,000,000 due dates in one vectorised call (its speed: bench/deadlines.py) equal the
    scalar rule on a sample spread over the four years."""
    cal = BusinessCalendar()
    rng = np.random.default_rng(1)
    starts = np.datetime64("2025-01-01") + rng.integers(0, 4 * 365, 1_000_000).astype(
        "timedelta64[D]"
    )
    due = cal.due_dates(starts, 3)
    for i in rng.integers(0, len(starts), 2_000):
        start = starts[i].astype("datetime64[D]").item()
        assert due[i].astype("datetime64[D]").item() == cal.due_date(start, 3)
