"""The partner's confirmation file model."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pytest

from hmis_handoff.errors import IntakeValidationError
from schemas.confirmation import (
    Confirmation,
    canonical_confirmation_header,
    confirmation_problems,
    parse_date_entered,
)


def _frame(**columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(columns, dtype=object)


def test_valid_confirmations_pass() -> None:
    frame = _frame(
        IntakeID=["T1", "T-2", "t_3"],
        AgencyID=["demo-agency", "", "demo-agency"],
        PersonalID=["", "P9", ""],
        DateEntered=["2026-03-02", "2026-03-03 14:05", "2026-03-04T09:30:15"],
        Other=["x", "y", "z"],
    )
    assert issubclass(Confirmation, pa.DataFrameModel)
    assert confirmation_problems(frame) == []
    assert confirmation_problems(frame[["IntakeID", "DateEntered"]]) == []


def test_bad_confirmations_are_reported_by_row_and_rule() -> None:
    frame = _frame(
        IntakeID=["", "T 2", "T3", "T4"],
        DateEntered=["2026-03-02", "2026-02-30", "2/30/2026", ""],
        PersonalID=["", "", "P" * 33, ""],
    )
    found = {(p.row, p.column, p.rule_id) for p in confirmation_problems(frame)}
    assert found == {
        (2, "IntakeID", "VALUE-REQUIRED"),
        (3, "IntakeID", "INTAKE-ID-FORMAT"),
        (3, "DateEntered", "DATE-FORMAT"),
        (4, "DateEntered", "DATE-FORMAT"),
        (4, "PersonalID", "TEXT-TOO-LONG"),
        (5, "DateEntered", "VALUE-REQUIRED"),
    }


def test_missing_required_column_raises() -> None:
    with pytest.raises(IntakeValidationError):
        confirmation_problems(_frame(IntakeID=["T1"]))


def test_date_entered_parsing() -> None:
    parsed = parse_date_entered(
        pd.Series(["2026-03-02", "2026-03-02 10:15", "2026-03-02T10:15:30", "2026-13-01", "x", ""])
    )
    assert parsed.iloc[:3].tolist() == [
        pd.Timestamp("2026-03-02"),
        pd.Timestamp("2026-03-02 10:15"),
        pd.Timestamp("2026-03-02 10:15:30"),
    ]
    assert parsed.iloc[3:].isna().all()


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("Intake ID", "IntakeID"),
        ("date_entered", "DateEntered"),
        ("HMIS ID", "PersonalID"),
        ("Agency", "AgencyID"),
        ("Notes", None),
    ],
)
def test_confirmation_headers(raw: str, name: str | None) -> None:
    assert canonical_confirmation_header(raw) == name


def test_us_dates_are_read_month_first() -> None:
    """Partners write dates as US spreadsheets show them (12/05/2026 is December 5th)."""
    parsed = parse_date_entered(
        pd.Series(["12/05/2026", "3/2/2026", "03/02/2026 9:05", "13/05/2026", "2/30/2026"])
    )
    assert parsed.tolist()[:3] == [
        pd.Timestamp("2026-12-05"), pd.Timestamp("2026-03-02"), pd.Timestamp("2026-03-02 09:05"),
    ]  # fmt: skip
    assert parsed[3:].isna().all()
