"""The pandera models: real DataFrameModels that agree with the fast validator."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pytest

from hmis_handoff.errors import IntakeValidationError
from schemas.columns import SpecVersion, column_names, optional_columns
from schemas.intake import intake_model, pandera_problems
from schemas.validate import validate_intake
from tests.schemas.helpers import CONTEXT
from tests.synthetic import make_valid_frame

#: Rules both paths implement with the same meaning (the fast path refines date shapes into
#: US/Excel variants and applies first-match precedence; these have neither).
SHARED = {
    "VALUE-REQUIRED", "CODE-NOT-IN-LIST", "SSN-INVALID", "SSN-FORMAT", "COC-FORMAT",
    "TEXT-TOO-LONG", "INTAKE-ID-FORMAT", "DATE-INVALID", "DATE-TOO-EARLY",
    "TEXT-IMPERMISSIBLE-CHARS", "TEXT-LINE-BREAK", "HOH-COUNT", "RACE-NONE-MISMATCH",
    "NAME-DQ-MISMATCH", "SSN-DQ-MISMATCH", "DOB-DQ-MISMATCH",
}  # fmt: skip

PLANTED = [
    {"VeteranStatus": ""},
    {"NameDataQuality": "7"},
    {"SSN": "666123456"},
    {"SSN": "70001"},
    {"EnrollmentCoC": "MO606"},
    {"LastName": "T" * 60},
    {"IntakeID": "T#1"},
    {"DOB": "1990-02-30"},
    {"DOB": "1900-01-01"},
    {"FirstName": "{Alpha}"},
    {"FirstName": "Al\rpha"},
    {"RelationshipToHoH": "2"},
    {"RaceNone": "9"},
    {"NameDataQuality": "99"},
    {"SSNDataQuality": "8"},
    {"DOBDataQuality": "99"},
    {"Event": "0"},
]


def _messy(spec: SpecVersion) -> pd.DataFrame:
    frame = make_valid_frame(len(PLANTED) * 2, spec_version=spec).astype(object)
    for number, changes in enumerate(PLANTED):
        for column, value in changes.items():
            frame.loc[number * 2, column] = value
    return frame


def test_models_are_dataframe_models() -> None:
    for spec in ("FY2026", "FY2024"):
        model = intake_model(spec)
        assert issubclass(model, pa.DataFrameModel)
        schema = model.to_schema()
        assert list(schema.columns) == list(column_names(spec))
        assert {n for n, c in schema.columns.items() if not c.required} == set(
            optional_columns(spec)
        )
        assert schema.strict is True
    assert intake_model("FY2026") is intake_model("FY2026")


def test_valid_frame_passes_pandera() -> None:
    frame = make_valid_frame(30, household_size=3)
    pd.testing.assert_frame_equal(intake_model("FY2026").validate(frame, lazy=True), frame)
    assert pandera_problems(frame.astype(object), "FY2026") == []
    assert pandera_problems(make_valid_frame(9, spec_version="FY2024"), "FY2024") == []


@pytest.mark.parametrize("spec", ["FY2026", "FY2024"])
def test_pandera_and_fast_path_agree_on_shared_rules(spec: SpecVersion) -> None:
    frame = _messy(spec)
    slow = {(p.row, p.column, p.rule_id) for p in pandera_problems(frame, spec)}
    fast = {(p.row, p.column, p.rule_id) for p in validate_intake(frame, CONTEXT).problems}
    assert slow, "the planted problems must be found"
    assert {t for t in fast if t[2] in SHARED} == {t for t in slow if t[2] in SHARED}
    # Every row pandera rejects, the fast path rejects too.
    outcome = validate_intake(frame, CONTEXT)
    fast_errors = {p.row for p in outcome.problems if p.severity == "error"}
    assert {t[0] for t in slow if t[2] != "TEXT-IMPERMISSIBLE-CHARS"} <= fast_errors


def test_structural_mismatch_raises_value_free() -> None:
    with pytest.raises(IntakeValidationError):
        pandera_problems(make_valid_frame(2).drop(columns=["SSN"]), "FY2026")
    with pytest.raises(IntakeValidationError):
        pandera_problems(make_valid_frame(2).assign(Notes="x"), "FY2026")
