"""Business-day calendar for the 3-business-day entry rule (Missouri or federal holidays).

A business day is a Monday to Friday that is not a holiday and not a configured closure, or a
weekday the policy lists as open anyway. Holidays come from the ``holidays`` package
(federal list, plus Truman Day for Missouri, both with the package's observance shifts) and,
for Missouri, Lincoln Day (Feb 12, RSMo 9.010), which the package lacks and this module adds
with the same shift the package uses: Saturday to the preceding Friday, Sunday to the following
Monday.

Counting convention used by every function here: the start date is day 0 and the days counted
are the business days strictly after it, so ``add_business_days(start, n)`` is the n-th business
day after ``start`` and ``business_days_between(start, due) == n``. A start on a weekend or
holiday is fine: intake on Saturday + 3 counts Monday, Tuesday, Wednesday and is due Wednesday.

The scalar functions and the vectorised ones (:meth:`BusinessCalendar.due_dates`,
:meth:`BusinessCalendar.business_days_between_many`, built on ``numpy.busday_offset`` and
``numpy.busday_count``) agree on every date; the tests check it day by day for 2025-2028.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal, overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "CONFIGURED_CLOSURE",
    "LINCOLN_DAY",
    "BusinessCalendar",
    "CalendarName",
    "CalendarPolicy",
    "DateArray",
]

CalendarName = Literal["us-mo", "us-federal"]
DateArray = npt.NDArray[np.datetime64]

LINCOLN_DAY = "Lincoln Day"
CONFIGURED_CLOSURE = "Closure (configured)"
_SATURDAY = 5
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class CalendarPolicy:
    """Which days count as business days, and when a day's work stops counting.

    Attributes:
        calendar: ``"us-mo"`` (federal + Truman Day + Lincoln Day) or ``"us-federal"``.
        extra_closures: dates closed although not holidays (e.g. a governor-declared day).
        open_overrides: weekdays that are business days even if a holiday or closure.
        cutoff: local time after which work received counts from the next business day.
        timezone: IANA zone in which receipt times are turned into local dates.

    Raises:
        ValueError: if the timezone is unknown, an override falls on a weekend (it could not
            make the day a business day, so it is surely a mistake), or a date is both a
            closure and an override.
    """

    calendar: CalendarName = "us-mo"
    extra_closures: frozenset[date] = field(default_factory=frozenset)
    open_overrides: frozenset[date] = field(default_factory=frozenset)
    cutoff: time = time(17, 0)
    timezone: str = "America/Chicago"

    def __post_init__(self) -> None:
        if self.calendar not in ("us-mo", "us-federal"):
            raise ValueError(f"unknown calendar {self.calendar!r}; use 'us-mo' or 'us-federal'")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {self.timezone!r}") from exc
        weekend = sorted(d for d in self.open_overrides if d.weekday() >= _SATURDAY)
        if weekend:
            raise ValueError(f"open_overrides must be weekdays; {weekend[0]} is a weekend day")
        both = sorted(self.extra_closures & self.open_overrides)
        if both:
            raise ValueError(f"{both[0]} is listed both as a closure and as open")
        if self.cutoff.tzinfo is not None:
            raise ValueError("cutoff is a local wall-clock time; give it without a tzinfo")


def _observed(d: date) -> date:
    """Shift a fixed-date holiday off the weekend the way the ``holidays`` package does."""
    if d.weekday() == _SATURDAY:
        return d - _ONE_DAY
    if d.weekday() == _SATURDAY + 1:
        return d + _ONE_DAY
    return d


class BusinessCalendar:
    """Business-day arithmetic under one :class:`CalendarPolicy`; holidays memoised per year."""

    def __init__(self, policy: CalendarPolicy = CalendarPolicy()) -> None:
        self.policy = policy
        self._tz = ZoneInfo(policy.timezone)
        self._names_by_year: dict[int, dict[date, str]] = {}
        self._closed_by_year: dict[int, frozenset[date]] = {}
        self._numpy_cals: dict[tuple[int, int], np.busdaycalendar] = {}

    # -- holidays -------------------------------------------------------------------------

    def _names(self, year: int) -> dict[date, str]:
        names = self._names_by_year.get(year)
        if names is None:
            names = self._build_names(year)
            self._names_by_year[year] = names
        return names

    def _build_names(self, year: int) -> dict[date, str]:
        # The package files an observed day under the year it falls in (New Year's Day 2028,
        # a Saturday, is observed on 2027-12-31 and listed for 2027), so one year is enough.
        subdiv = "MO" if self.policy.calendar == "us-mo" else None
        names: dict[date, str] = dict(holidays.country_holidays("US", subdiv=subdiv, years=year))
        if self.policy.calendar == "us-mo":
            lincoln = date(year, 2, 12)
            names[lincoln] = LINCOLN_DAY
            shifted = _observed(lincoln)
            if shifted != lincoln:
                names[shifted] = f"{LINCOLN_DAY} (observed)"
        for closure in self.policy.extra_closures:
            if closure.year == year:
                names.setdefault(closure, CONFIGURED_CLOSURE)
        return names

    def _closed(self, year: int) -> frozenset[date]:
        closed = self._closed_by_year.get(year)
        if closed is None:
            overrides = self.policy.open_overrides
            closed = frozenset(d for d in self._names(year) if d not in overrides)
            self._closed_by_year[year] = closed
        return closed

    def holiday_name(self, d: date) -> str | None:
        """The holiday or configured closure on ``d``, or None.

        Names are reported whatever the weekday and even when ``d`` is an open override
        (the holiday still exists; the office is just open on it).
        """
        return self._names(d.year).get(d)

    def closed_dates(self, first_year: int, last_year: int) -> list[date]:
        """Sorted non-working holidays and closures in ``[first_year, last_year]``."""
        return sorted(d for y in range(first_year, last_year + 1) for d in self._closed(y))

    def is_business_day(self, d: date) -> bool:
        """True for a weekday that is not a holiday or closure, or is an open override."""
        return d.weekday() < _SATURDAY and d not in self._closed(d.year)

    # -- scalar arithmetic ----------------------------------------------------------------

    def add_business_days(self, start: date, n: int) -> date:
        """The ``n``-th business day strictly after ``start`` (``start`` itself if n == 0).

        ``start`` need not be a business day. Raises ValueError if ``n`` is negative.
        """
        if n < 0:
            raise ValueError("n must be >= 0")
        d = start
        remaining = n
        while remaining:
            d += _ONE_DAY
            if self.is_business_day(d):
                remaining -= 1
        return d

    def business_days_between(self, start: date, end: date) -> int:
        """Count business days d with ``start < d <= end``; the negated count if end < start.

        So ``business_days_between(s, add_business_days(s, n)) == n`` for every s and n.
        """
        if end < start:
            return -self.business_days_between(end, start)
        count = 0
        d = start
        while d < end:
            d += _ONE_DAY
            if self.is_business_day(d):
                count += 1
        return count

    def due_date(self, start: date, business_days: int = 3) -> date:
        """Deadline for work whose clock starts on ``start`` (day 0): its end of day counts."""
        return self.add_business_days(start, business_days)

    def clock_start(self, received_at: datetime) -> date:
        """Day 0 of the clock for work received at ``received_at`` (timezone-aware).

        The receipt time is turned into a local date in the policy's timezone. Received on a
        business day up to and including the cutoff: that date is day 0 and the next business
        day is day 1. Received after the cutoff, or on a weekend or holiday: the work is
        treated as received on the next business day, which becomes day 0.

        Why not keep the receipt date as day 0 in those cases? Counting strictly after day 0
        would then make the cutoff change nothing on a business day. It would also let a later
        receipt get an earlier deadline: Saturday + 3 is Wednesday, but Friday 18:00, deemed
        received Monday, is due Thursday. Deeming the work received on the next business day
        keeps the clock monotone, so later receipt never means an earlier deadline. It is also
        what "received after close of business counts as received the next business day" means.

        Raises:
            ValueError: if ``received_at`` is naive (its zone would be a guess).
        """
        if received_at.tzinfo is None or received_at.utcoffset() is None:
            raise ValueError("received_at must be timezone-aware")
        local = received_at.astimezone(self._tz)
        day = local.date()
        if self.is_business_day(day) and local.time().replace(tzinfo=None) <= self.policy.cutoff:
            return day
        return self.add_business_days(day, 1)

    # -- vectorised arithmetic ------------------------------------------------------------

    def numpy_calendar(self, first_year: int, last_year: int) -> np.busdaycalendar:
        """A ``numpy.busdaycalendar`` (Mon-Fri) with this policy's closures for those years.

        Dates outside ``[first_year, last_year]`` would see no holidays: callers size the span.
        """
        key = (first_year, last_year)
        cal = self._numpy_cals.get(key)
        if cal is None:
            closed = np.array(self.closed_dates(first_year, last_year), dtype="datetime64[D]")
            cal = np.busdaycalendar(weekmask="1111100", holidays=closed)
            self._numpy_cals[key] = cal
        return cal

    def _calendar_for(self, *arrays: DateArray, extra_years: int = 0) -> np.busdaycalendar:
        finite = [a[~np.isnat(a)] for a in arrays]
        finite = [a for a in finite if a.size]
        if not finite:
            return self.numpy_calendar(1970, 1970)
        lo = min(int(a.min().astype("datetime64[Y]").astype(int)) for a in finite) + 1970
        hi = max(int(a.max().astype("datetime64[Y]").astype(int)) for a in finite) + 1970
        # Next year too: a late-December start may land in January.
        return self.numpy_calendar(lo, hi + 1 + extra_years)

    @overload
    def due_dates(self, starts: DateArray, n: int = 3) -> DateArray: ...
    @overload
    def due_dates(self, starts: pd.Series, n: int = 3) -> pd.Series: ...

    def due_dates(self, starts: DateArray | pd.Series, n: int = 3) -> DateArray | pd.Series:
        """Vectorised :meth:`add_business_days`: the same dates, as an array or Series.

        Accepts ``datetime64`` arrays (truncated to days; the result is ``datetime64[D]``) or a
        pandas Series of datetimes (the result is a ``datetime64[ns]`` Series with the same
        index and name). NaT stays NaT. Raises ValueError if ``n`` is negative.
        """
        if n < 0:
            raise ValueError("n must be >= 0")
        if isinstance(starts, pd.Series):
            days = starts.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
            out = self._due_dates_array(days, n)
            return pd.Series(out.astype("datetime64[ns]"), index=starts.index, name=starts.name)
        return self._due_dates_array(np.asarray(starts).astype("datetime64[D]"), n)

    def _due_dates_array(self, starts: DateArray, n: int) -> DateArray:
        if n == 0:
            return starts.copy()
        cal = self._calendar_for(starts, extra_years=n // 200)
        # Rolling a non-business start back to the previous business day leaves the set of
        # business days strictly after it unchanged, which is our "start is day 0" rule.
        return np.busday_offset(starts, n, roll="backward", busdaycal=cal)

    def business_days_between_many(
        self, starts: DateArray, ends: DateArray
    ) -> npt.NDArray[np.int64]:
        """Vectorised :meth:`business_days_between` over ``datetime64[D]`` arrays.

        Raises:
            ValueError: if any date is NaT (there is no count to give it).
        """
        s = np.asarray(starts).astype("datetime64[D]")
        e = np.asarray(ends).astype("datetime64[D]")
        if np.isnat(s).any() or np.isnat(e).any():
            raise ValueError("business_days_between_many needs dates, got NaT")
        cal = self._calendar_for(s, e)
        one = np.timedelta64(1, "D")
        # busday_count counts [begin, end) forwards, but (end, begin] when reversed, so order
        # each pair, count (lo, hi] as [lo + 1, hi + 1), and restore the sign.
        lo, hi = np.minimum(s, e), np.maximum(s, e)
        count = np.busday_count(lo + one, hi + one, busdaycal=cal).astype(np.int64)
        signed: npt.NDArray[np.int64] = np.where(e < s, -count, count)
        return signed
