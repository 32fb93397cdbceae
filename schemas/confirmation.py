"""pandera model of the data partner's confirmation CSV ("these intakes are now in HMIS").

One row per intake entered. Columns (header matching as in :mod:`schemas.columns`: case,
spaces and underscores ignored):

* ``IntakeID``: required, the agency's id as delivered (``[A-Za-z0-9_-]{1,32}``);
* ``AgencyID``: optional, the submitting agency's id (≤ 32 characters);
* ``PersonalID``: optional, the HMIS client id the partner assigned (≤ 32 characters);
* ``DateEntered``: required, when the intake was entered in HMIS, ``yyyy-mm-dd`` or
  ``yyyy-mm-dd hh:mm[:ss]`` (a ``T`` separator is accepted; no time zone: partner local time),
  or the US form ``m/d/yyyy`` (``12/05/2026``; read as intake dates are); an
  Excel date cell arrives as ISO text.

Other columns are ignored (``strict=False``): a partner's HMIS export may carry more.
Like the intake model, the frame is all text and every check is named by its rule id;
:func:`confirmation_problems` folds failures to value-free :class:`~schemas.validate.Problem`
records and :func:`parse_date_entered` turns the text into timestamps.
"""

from __future__ import annotations

from datetime import date
from typing import Final

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaError, SchemaErrors
from pandera.typing import Series

from hmis_handoff.errors import IntakeValidationError
from schemas import cells
from schemas.columns import fold_header
from schemas.normalise import us_dates
from schemas.rules import RULES
from schemas.validate import Problem

__all__ = [
    "CONFIRMATION_COLUMNS",
    "DATE_ENTERED",
    "Confirmation",
    "canonical_confirmation_header",
    "confirmation_problems",
    "parse_date_entered",
]

CONFIRMATION_COLUMNS: Final = ("IntakeID", "AgencyID", "PersonalID", "DateEntered")
DATE_ENTERED: Final = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[ T][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?)?"
)
_ALIASES: Final = {
    "intake": "IntakeID",
    "agency": "AgencyID",
    "submittingagencyid": "AgencyID",
    "hmisid": "PersonalID",
    "clientid": "PersonalID",
    "entered": "DateEntered",
    "dateentered": "DateEntered",
    "entrydatecreated": "DateEntered",
    "datecreated": "DateEntered",
}
_CANONICAL: Final = {fold_header(c): c for c in CONFIRMATION_COLUMNS} | _ALIASES


def canonical_confirmation_header(raw: str) -> str | None:
    """The canonical confirmation column for a raw header cell, or ``None``."""
    return _CANONICAL.get(fold_header(raw))


_US_STAMP: Final = r"(?P<day>[0-9]{1,2}/[0-9]{1,2}/(?:[0-9]{4}|[0-9]{2}))(?P<rest>(?: .*)?)"


def _us_stamps(text: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Month-first dates (with an optional ``H:MM`` time) rewritten to ISO, as the intake
    reads them (:func:`schemas.normalise.us_dates`); also returns the day-first-only mask."""
    parts = text.str.extract(_US_STAMP)
    day = parts["day"].fillna("")
    iso, accepted, day_first, _ = us_dates(day, date.today().year)
    rest = parts["rest"].fillna("").str.replace(r"^ ([0-9]):", r" 0\1:", regex=True)
    rewritten = text.where(~accepted, iso.astype(str) + rest)
    return rewritten, day_first


def parse_date_entered(values: pd.Series) -> pd.Series:
    """``DateEntered`` text to ``datetime64`` (date-only values at midnight); NaT if invalid.

    ISO dates and times, and (as for intake files) month-first US dates such as
    ``12/4/2026`` or ``12/4/2026 9:05``. A date valid only day first is never guessed (NaT,
    and :class:`Confirmation` reports ``DATE-DAY-FIRST``). Never raises on a bad value: an
    unparseable or impossible date becomes NaT.
    """
    text, _ = _us_stamps(cells.as_text(values))
    shaped = text.str.fullmatch(DATE_ENTERED).fillna(False).to_numpy(dtype=bool)
    candidate = text.where(shaped, "").str.replace("T", " ", regex=False)
    return pd.to_datetime(candidate, format="ISO8601", errors="coerce")


class Confirmation(pa.DataFrameModel):
    """The partner's confirmation file, all text."""

    IntakeID: Series[str] = pa.Field(nullable=False)
    AgencyID: Series[str] | None = pa.Field(nullable=False)
    PersonalID: Series[str] | None = pa.Field(nullable=False)
    DateEntered: Series[str] = pa.Field(nullable=False)

    class Config:
        strict = False
        ordered = False
        name = "hmis-confirmation"

    @pa.check("IntakeID", name="VALUE-REQUIRED", error="VALUE-REQUIRED")
    def _intake_id_given(cls, series: pd.Series) -> pd.Series:
        return cells.as_text(series) != ""

    @pa.check("IntakeID", name="INTAKE-ID-FORMAT", error="INTAKE-ID-FORMAT")
    def _intake_id_shape(cls, series: pd.Series) -> pd.Series:
        text = cells.as_text(series)
        return (text == "") | text.str.fullmatch(cells.INTAKE_ID).fillna(False)

    @pa.check("AgencyID", "PersonalID", name="TEXT-TOO-LONG", error="TEXT-TOO-LONG")
    def _ids_short(cls, series: pd.Series) -> pd.Series:
        return cells.as_text(series).str.len() <= 32

    @pa.check("DateEntered", name="VALUE-REQUIRED", error="VALUE-REQUIRED")
    def _date_given(cls, series: pd.Series) -> pd.Series:
        return cells.as_text(series) != ""

    @pa.check("DateEntered", name="DATE-FORMAT", error="DATE-FORMAT")
    def _date_shape(cls, series: pd.Series) -> pd.Series:
        text = cells.as_text(series)
        _, day_first = _us_stamps(text)
        return (text == "") | parse_date_entered(series).notna() | day_first

    @pa.check("DateEntered", name="DATE-DAY-FIRST", error="DATE-DAY-FIRST")
    def _not_day_first(cls, series: pd.Series) -> pd.Series:
        _, day_first = _us_stamps(cells.as_text(series))
        return pd.Series(~day_first, index=series.index)


def confirmation_problems(frame: pd.DataFrame) -> list[Problem]:
    """Validate a confirmation frame (canonical columns, all text); value-free problems.

    A missing required column raises :class:`~hmis_handoff.errors.IntakeValidationError`
    (naming no value); so does any unexpected failure.
    """
    failure: str | None = None
    cases: pd.DataFrame | None = None
    try:
        Confirmation.validate(frame, lazy=True)
        return []
    except SchemaErrors as errors:
        cases = errors.failure_cases[["column", "check", "index"]].copy()
    except SchemaError:
        failure = "SchemaError"
    except Exception as exc:  # re-raised below without its message
        failure = type(exc).__name__
    if failure is not None or cases is None:
        raise IntakeValidationError(f"confirmation validation failed ({failure})")
    checks = cases["check"].astype("str")
    if bool((~checks.isin(RULES.keys()) | cases["index"].isna()).any()):
        raise IntakeValidationError("the confirmation file's columns do not fit the model")
    found = {
        Problem(int(index) + 2, str(column), str(rule_id), RULES[str(rule_id)].severity)
        for index, column, rule_id in zip(cases["index"], cases["column"], checks, strict=True)
    }
    return sorted(found, key=lambda p: (p.row, p.column, p.rule_id))
