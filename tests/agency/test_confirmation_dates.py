"""Confirmation files get the intake's date handling: ISO and month-first US dates are
read, a date valid only day first is refused with its own rule, never guessed."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from schemas.confirmation import confirmation_problems, parse_date_entered

CASES = [
    ("2026-03-04", datetime(2026, 3, 4), None),
    ("2026-03-04 14:30", datetime(2026, 3, 4, 14, 30), None),
    ("3/4/2026", datetime(2026, 3, 4), None),
    ("03/04/2026", datetime(2026, 3, 4), None),
    ("3/4/26", datetime(2026, 3, 4), None),
    ("3/4/2026 9:05", datetime(2026, 3, 4, 9, 5), None),
    ("3/4/2026 14:30:00", datetime(2026, 3, 4, 14, 30), None),
    ("25/3/2026", None, "DATE-DAY-FIRST"),
    ("2/30/2026", None, "DATE-FORMAT"),
    ("March 4", None, "DATE-FORMAT"),
]


@pytest.mark.parametrize(("typed", "parsed", "rule"), CASES, ids=[c[0] for c in CASES])
def test_confirmation_date(typed: str, parsed: datetime | None, rule: str | None) -> None:
    frame = pd.DataFrame([{"IntakeID": "C0001", "DateEntered": typed}], dtype=object)
    value = parse_date_entered(frame["DateEntered"]).iloc[0]
    if parsed is None:
        assert pd.isna(value)
    else:
        assert value == pd.Timestamp(parsed)
    found = {(p.row, p.column, p.rule_id) for p in confirmation_problems(frame)}
    assert found == (set() if rule is None else {(2, "DateEntered", rule)})
