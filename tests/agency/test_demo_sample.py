"""The demo sample (`handoff init --demo`) shows exactly the mistakes its docstring names,
on any day it is made: rows 2-5 raise nothing, not even a warning (its months homeless
used to be a fixed 107, which HUD's months check flagged on every adult row whenever the
200 days before the intake spanned 8 calendar months)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from schemas.columns import column_names
from schemas.validate import ValidationContext, validate_intake
from usecases.demo import demo_rows

# Days across a year, so every month boundary of the 200-day span is crossed.
DAYS = [date(2026, 1, 5) + timedelta(days=11 * n) for n in range(34)]


@pytest.mark.parametrize("today", DAYS, ids=str)
def test_demo_sample_shows_only_its_planted_mistakes(today: date) -> None:
    columns = column_names("FY2026")
    rows = [{c: row.get(c, "") for c in columns} for row in demo_rows("demo-agency", today, 1)]
    outcome = validate_intake(
        pd.DataFrame(rows, columns=list(columns), dtype=object),
        ValidationContext(agency_id="demo-agency", today=today),
    )
    found = {(p.row, p.rule_id) for p in outcome.problems}
    assert found == {(6, "SSN-INVALID"), (7, "VALUE-REQUIRED")}
    assert outcome.not_transmittable == {8: "ROI-MISSING"}
    assert int(outcome.sendable.sum()) == 4
