"""Due dates pinned around every 2026 and 2027 federal and Missouri holiday.

Each expected date was counted by hand on a calendar (day 0 is the intake date; days 1-3
are the next business days) and checked against the ``holidays`` package's observed dates.
Closed weekdays, Missouri calendar:

2026: Thu Jan 1, Mon Jan 19, Thu Feb 12 (Lincoln), Mon Feb 16, Fri May 8 (Truman), Mon May 25,
Fri Jun 19, Fri Jul 3 (Jul 4 is a Saturday), Mon Sep 7, Mon Oct 12, Wed Nov 11, Thu Nov 26,
Fri Dec 25.
2027: Fri Jan 1, Mon Jan 18, Fri Feb 12 (Lincoln), Mon Feb 15, Fri May 7 (Truman, May 8 is a
Saturday), Mon May 31, Fri Jun 18 (Jun 19 is a Saturday), Mon Jul 5 (Jul 4 is a Sunday),
Mon Sep 6, Mon Oct 11, Thu Nov 11, Thu Nov 25, Fri Dec 24 (Dec 25 is a Saturday),
Fri Dec 31 (New Year's Day 2028 is a Saturday).
"""

from __future__ import annotations

from datetime import date

import pytest

from hmis_handoff.business_days import BusinessCalendar, CalendarPolicy

MO = BusinessCalendar()
FEDERAL = BusinessCalendar(CalendarPolicy(calendar="us-federal"))

D = date

# (intake date, due date with 3 business days, Missouri calendar)
MO_2026 = [
    # New Year's Day, Thu Jan 1
    (D(2025, 12, 27), D(2025, 12, 31)),  # Saturday before
    (D(2025, 12, 31), D(2026, 1, 6)),  # business day before
    (D(2026, 1, 1), D(2026, 1, 6)),  # on the holiday
    (D(2026, 1, 3), D(2026, 1, 7)),  # Saturday after
    (D(2026, 1, 4), D(2026, 1, 7)),  # Sunday after
    # Martin Luther King Jr. Day, Mon Jan 19
    (D(2026, 1, 16), D(2026, 1, 22)),
    (D(2026, 1, 17), D(2026, 1, 22)),
    (D(2026, 1, 19), D(2026, 1, 22)),
    (D(2026, 1, 24), D(2026, 1, 28)),
    # Lincoln Day Thu Feb 12 and Washington's Birthday Mon Feb 16
    (D(2026, 2, 7), D(2026, 2, 11)),
    (D(2026, 2, 10), D(2026, 2, 17)),
    (D(2026, 2, 11), D(2026, 2, 18)),  # the canonical example
    (D(2026, 2, 12), D(2026, 2, 18)),
    (D(2026, 2, 13), D(2026, 2, 19)),
    (D(2026, 2, 14), D(2026, 2, 19)),
    (D(2026, 2, 15), D(2026, 2, 19)),
    (D(2026, 2, 16), D(2026, 2, 19)),
    (D(2026, 2, 21), D(2026, 2, 25)),
    # Truman Day, Fri May 8
    (D(2026, 5, 2), D(2026, 5, 6)),
    (D(2026, 5, 6), D(2026, 5, 12)),
    (D(2026, 5, 7), D(2026, 5, 13)),
    (D(2026, 5, 8), D(2026, 5, 13)),
    (D(2026, 5, 9), D(2026, 5, 13)),
    # Memorial Day, Mon May 25
    (D(2026, 5, 22), D(2026, 5, 28)),
    (D(2026, 5, 23), D(2026, 5, 28)),
    (D(2026, 5, 25), D(2026, 5, 28)),
    (D(2026, 5, 30), D(2026, 6, 3)),
    # Juneteenth, Fri Jun 19
    (D(2026, 6, 13), D(2026, 6, 17)),
    (D(2026, 6, 17), D(2026, 6, 23)),
    (D(2026, 6, 18), D(2026, 6, 24)),
    (D(2026, 6, 19), D(2026, 6, 24)),
    (D(2026, 6, 20), D(2026, 6, 24)),
    # Independence Day, Sat Jul 4, observed Fri Jul 3
    (D(2026, 6, 27), D(2026, 7, 1)),
    (D(2026, 7, 1), D(2026, 7, 7)),
    (D(2026, 7, 2), D(2026, 7, 8)),
    (D(2026, 7, 3), D(2026, 7, 8)),
    (D(2026, 7, 4), D(2026, 7, 8)),
    (D(2026, 7, 5), D(2026, 7, 8)),
    # Labor Day, Mon Sep 7
    (D(2026, 9, 4), D(2026, 9, 10)),
    (D(2026, 9, 5), D(2026, 9, 10)),
    (D(2026, 9, 7), D(2026, 9, 10)),
    (D(2026, 9, 12), D(2026, 9, 16)),
    # Columbus Day, Mon Oct 12
    (D(2026, 10, 9), D(2026, 10, 15)),
    (D(2026, 10, 10), D(2026, 10, 15)),
    (D(2026, 10, 12), D(2026, 10, 15)),
    (D(2026, 10, 17), D(2026, 10, 21)),
    # Veterans Day, Wed Nov 11
    (D(2026, 11, 7), D(2026, 11, 12)),
    (D(2026, 11, 10), D(2026, 11, 16)),
    (D(2026, 11, 11), D(2026, 11, 16)),
    (D(2026, 11, 14), D(2026, 11, 18)),
    # Thanksgiving, Thu Nov 26
    (D(2026, 11, 21), D(2026, 11, 25)),
    (D(2026, 11, 25), D(2026, 12, 1)),  # the canonical example
    (D(2026, 11, 26), D(2026, 12, 1)),
    (D(2026, 11, 28), D(2026, 12, 2)),
    # Christmas, Fri Dec 25, and New Year's Day 2027, Fri Jan 1
    (D(2026, 12, 19), D(2026, 12, 23)),
    (D(2026, 12, 23), D(2026, 12, 29)),
    (D(2026, 12, 24), D(2026, 12, 30)),
    (D(2026, 12, 25), D(2026, 12, 30)),
    (D(2026, 12, 26), D(2026, 12, 30)),
    (D(2026, 12, 29), D(2027, 1, 4)),
    (D(2026, 12, 31), D(2027, 1, 6)),
]

MO_2027 = [
    # New Year's Day, Fri Jan 1
    (D(2027, 1, 1), D(2027, 1, 6)),
    (D(2027, 1, 2), D(2027, 1, 6)),
    # Martin Luther King Jr. Day, Mon Jan 18
    (D(2027, 1, 15), D(2027, 1, 21)),
    (D(2027, 1, 16), D(2027, 1, 21)),
    (D(2027, 1, 18), D(2027, 1, 21)),
    (D(2027, 1, 23), D(2027, 1, 27)),
    # Lincoln Day Fri Feb 12 and Washington's Birthday Mon Feb 15
    (D(2027, 2, 6), D(2027, 2, 10)),
    (D(2027, 2, 10), D(2027, 2, 17)),
    (D(2027, 2, 11), D(2027, 2, 18)),
    (D(2027, 2, 12), D(2027, 2, 18)),
    (D(2027, 2, 13), D(2027, 2, 18)),
    (D(2027, 2, 15), D(2027, 2, 18)),
    (D(2027, 2, 20), D(2027, 2, 24)),
    # Truman Day, Sat May 8, observed Fri May 7
    (D(2027, 5, 1), D(2027, 5, 5)),
    (D(2027, 5, 5), D(2027, 5, 11)),
    (D(2027, 5, 6), D(2027, 5, 12)),
    (D(2027, 5, 7), D(2027, 5, 12)),
    (D(2027, 5, 8), D(2027, 5, 12)),
    # Memorial Day, Mon May 31
    (D(2027, 5, 28), D(2027, 6, 3)),
    (D(2027, 5, 29), D(2027, 6, 3)),
    (D(2027, 5, 31), D(2027, 6, 3)),
    (D(2027, 6, 5), D(2027, 6, 9)),
    # Juneteenth, Sat Jun 19, observed Fri Jun 18
    (D(2027, 6, 12), D(2027, 6, 16)),
    (D(2027, 6, 16), D(2027, 6, 22)),
    (D(2027, 6, 17), D(2027, 6, 23)),
    (D(2027, 6, 18), D(2027, 6, 23)),
    (D(2027, 6, 19), D(2027, 6, 23)),
    # Independence Day, Sun Jul 4, observed Mon Jul 5
    (D(2027, 7, 2), D(2027, 7, 8)),
    (D(2027, 7, 3), D(2027, 7, 8)),
    (D(2027, 7, 4), D(2027, 7, 8)),
    (D(2027, 7, 5), D(2027, 7, 8)),
    (D(2027, 7, 10), D(2027, 7, 14)),
    # Labor Day, Mon Sep 6
    (D(2027, 9, 3), D(2027, 9, 9)),
    (D(2027, 9, 4), D(2027, 9, 9)),
    (D(2027, 9, 6), D(2027, 9, 9)),
    (D(2027, 9, 11), D(2027, 9, 15)),
    # Columbus Day, Mon Oct 11
    (D(2027, 10, 8), D(2027, 10, 14)),
    (D(2027, 10, 9), D(2027, 10, 14)),
    (D(2027, 10, 11), D(2027, 10, 14)),
    (D(2027, 10, 16), D(2027, 10, 20)),
    # Veterans Day, Thu Nov 11
    (D(2027, 11, 6), D(2027, 11, 10)),
    (D(2027, 11, 10), D(2027, 11, 16)),
    (D(2027, 11, 11), D(2027, 11, 16)),
    (D(2027, 11, 13), D(2027, 11, 17)),
    # Thanksgiving, Thu Nov 25
    (D(2027, 11, 20), D(2027, 11, 24)),
    (D(2027, 11, 24), D(2027, 11, 30)),
    (D(2027, 11, 25), D(2027, 11, 30)),
    (D(2027, 11, 27), D(2027, 12, 1)),
    # Christmas, Sat Dec 25, observed Fri Dec 24; New Year's Day 2028 observed Fri Dec 31
    (D(2027, 12, 18), D(2027, 12, 22)),
    (D(2027, 12, 22), D(2027, 12, 28)),
    (D(2027, 12, 23), D(2027, 12, 29)),
    (D(2027, 12, 24), D(2027, 12, 29)),
    (D(2027, 12, 25), D(2027, 12, 29)),
    (D(2027, 12, 27), D(2027, 12, 30)),
    (D(2027, 12, 29), D(2028, 1, 4)),
    (D(2027, 12, 30), D(2028, 1, 5)),
    (D(2027, 12, 31), D(2028, 1, 5)),
    (D(2028, 1, 1), D(2028, 1, 5)),
]

# Lincoln Day shifted off a weekend: Sat Feb 12 2028 -> Fri Feb 11; Sun Feb 12 2023 -> Mon 13.
MO_SHIFTED_LINCOLN = [
    (D(2028, 2, 9), D(2028, 2, 15)),
    (D(2028, 2, 10), D(2028, 2, 16)),
    (D(2023, 2, 10), D(2023, 2, 16)),
]

# Only federal holidays: Lincoln Day and Truman Day are ordinary business days.
FEDERAL_CASES = [
    (D(2026, 2, 11), D(2026, 2, 17)),
    (D(2026, 5, 6), D(2026, 5, 11)),
    (D(2027, 2, 11), D(2027, 2, 17)),
    (D(2027, 5, 5), D(2027, 5, 10)),
    (D(2028, 2, 9), D(2028, 2, 14)),
    (D(2026, 11, 25), D(2026, 12, 1)),
    (D(2027, 12, 23), D(2027, 12, 29)),
]

CLOSED_WEEKDAYS = {
    2026: [
        D(2026, 1, 1), D(2026, 1, 19), D(2026, 2, 12), D(2026, 2, 16), D(2026, 5, 8),
        D(2026, 5, 25), D(2026, 6, 19), D(2026, 7, 3), D(2026, 9, 7), D(2026, 10, 12),
        D(2026, 11, 11), D(2026, 11, 26), D(2026, 12, 25),
    ],
    2027: [
        D(2027, 1, 1), D(2027, 1, 18), D(2027, 2, 12), D(2027, 2, 15), D(2027, 5, 7),
        D(2027, 5, 31), D(2027, 6, 18), D(2027, 7, 5), D(2027, 9, 6), D(2027, 10, 11),
        D(2027, 11, 11), D(2027, 11, 25), D(2027, 12, 24), D(2027, 12, 31),
    ],
}  # fmt: skip


@pytest.mark.parametrize(("intake", "due"), MO_2026 + MO_2027 + MO_SHIFTED_LINCOLN)
def test_missouri_due_dates(intake: date, due: date) -> None:
    """Intake + 3 business days on the Missouri calendar lands on the hand-counted date."""
    assert MO.due_date(intake) == due
    assert MO.business_days_between(intake, due) == 3


@pytest.mark.parametrize(("intake", "due"), FEDERAL_CASES)
def test_federal_due_dates(intake: date, due: date) -> None:
    """The federal calendar does not close for Lincoln Day or Truman Day."""
    assert FEDERAL.due_date(intake) == due


@pytest.mark.parametrize("year", [2026, 2027])
def test_closed_weekdays_are_exactly_the_listed_ones(year: int) -> None:
    """No weekday is closed that the hand list does not name, and none is missed."""
    closed = [d for d in MO.closed_dates(year, year) if d.weekday() < 5]
    assert closed == CLOSED_WEEKDAYS[year]


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (D(2026, 2, 12), "Lincoln Day"),
        (D(2028, 2, 11), "Lincoln Day (observed)"),
        (D(2028, 2, 12), "Lincoln Day"),
        (D(2023, 2, 13), "Lincoln Day (observed)"),
        (D(2026, 5, 8), "Truman Day"),
        (D(2027, 5, 7), "Truman Day (observed)"),
        (D(2026, 7, 3), "Independence Day (observed)"),
        (D(2027, 12, 24), "Christmas Day (observed)"),
        (D(2027, 12, 31), "New Year's Day (observed)"),
        (D(2026, 2, 16), "Washington's Birthday"),
        (D(2026, 2, 11), None),
    ],
)
def test_holiday_names(day: date, name: str | None) -> None:
    """Names come from the package, plus Lincoln Day with the package's observance style."""
    assert MO.holiday_name(day) == name


def test_federal_calendar_has_no_missouri_days() -> None:
    """Lincoln Day and Truman Day are Missouri-only."""
    assert FEDERAL.holiday_name(D(2026, 2, 12)) is None
    assert FEDERAL.holiday_name(D(2026, 5, 8)) is None
    assert FEDERAL.is_business_day(D(2028, 2, 11))


def test_extra_closure_day_after_thanksgiving() -> None:
    """A governor-declared closure on Fri Nov 27 2026 pushes the Wednesday intake a day."""
    cal = BusinessCalendar(CalendarPolicy(extra_closures=frozenset({D(2026, 11, 27)})))
    assert cal.due_date(D(2026, 11, 25)) == D(2026, 12, 2)
    assert cal.holiday_name(D(2026, 11, 27)) == "Closure (configured)"


def test_open_override_reopens_a_holiday() -> None:
    """Open on Lincoln Day 2026: Wed Feb 11 counts Thu 12, Fri 13, Tue 17."""
    cal = BusinessCalendar(CalendarPolicy(open_overrides=frozenset({D(2026, 2, 12)})))
    assert cal.is_business_day(D(2026, 2, 12))
    assert cal.due_date(D(2026, 2, 11)) == D(2026, 2, 17)
    assert cal.holiday_name(D(2026, 2, 12)) == "Lincoln Day"


@pytest.mark.parametrize(
    "policy_kwargs",
    [
        {"open_overrides": frozenset({D(2026, 7, 4)})},
        {
            "extra_closures": frozenset({D(2026, 11, 27)}),
            "open_overrides": frozenset({D(2026, 11, 27)}),
        },
        {"timezone": "Mars/Olympus_Mons"},
        {"calendar": "us-ca"},
    ],
)
def test_policy_rejects_contradictions(policy_kwargs: dict[str, object]) -> None:
    """A weekend override, a date both closed and open, or an unknown zone fails early."""
    with pytest.raises(ValueError):
        CalendarPolicy(**policy_kwargs)  # type: ignore[arg-type]
