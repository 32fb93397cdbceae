"""No cell value ever leaves the validator except inside the frame itself.

A unique canary is planted in every cell (alone, and embedded in otherwise plausible
values); none may appear in a Problem, the outcome's repr, not_transmittable, an exception
(message, cause, context or formatted traceback), a warning or a log record.
"""

from __future__ import annotations

import logging
import traceback
import uuid
import warnings
from collections.abc import Callable
from dataclasses import replace

import pandas as pd
import pytest

from hmis_handoff.errors import FileRejected, IntakeValidationError
from schemas import confirmation, intake, rowrules
from schemas.columns import SpecVersion, column_names
from schemas.validate import (
    ChunkedValidation,
    ValidationOutcome,
    validate_intake,
)
from tests.schemas.helpers import CONTEXT
from tests.synthetic import make_valid_row


def _canary() -> str:
    return f"CNRY{uuid.uuid4().hex[:12]}"


def _planted_frame(spec: SpecVersion) -> tuple[pd.DataFrame, list[str]]:
    names = column_names(spec)
    canaries: list[str] = []

    def mark(value: str = "") -> str:
        token = _canary()
        canaries.append(token)
        return f"{value}{token}"

    rows = [
        {name: mark() for name in names},  # every cell a bare canary
        {name: mark(" ") for name in names},  # leading space + canary
        {name: mark("1") for name in names},  # a digit then the canary
        make_valid_row(
            spec_version=spec,
            FirstName=mark(),
            LastName=mark("<"),
            CollectedByUser=mark(),
            AssessmentLocation=mark("\n"),
            HouseholdID=mark("H"),
            IntakeID=mark("T"),
        ),
        make_valid_row(
            spec_version=spec,
            SSN=mark("70001"),
            DOB=mark("1980-"),
            EnrollmentCoC=mark("MO-"),
            IntakeID=mark("T2"),
        ),
    ]
    return pd.DataFrame(rows, dtype=object), canaries


def _assert_clean(text: str, canaries: list[str]) -> None:
    leaked = [c for c in canaries if c in text]
    assert not leaked, f"{len(leaked)} canaries leaked"
    assert "CNRY" not in text


def _everything_said(outcome: ValidationOutcome) -> str:
    return "\n".join(
        [
            repr(outcome),
            str(outcome),
            repr(outcome.problems),
            *(str(p) for p in outcome.problems),
            repr(outcome.not_transmittable),
            outcome.spec_version,
        ]
    )


@pytest.mark.parametrize("spec", ["FY2026", "FY2024"])
def test_no_canary_in_problems_or_repr(spec: SpecVersion, caplog: pytest.LogCaptureFixture) -> None:
    frame, canaries = _planted_frame(spec)
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outcome = validate_intake(frame, CONTEXT)
        vsp = validate_intake(frame, replace(CONTEXT, is_victim_service_provider=True))
    assert outcome.problems, "the planted rows must produce problems"
    _assert_clean(_everything_said(outcome), canaries)
    _assert_clean(_everything_said(vsp), canaries)
    _assert_clean("\n".join(str(w.message) for w in caught), canaries)
    _assert_clean(caplog.text, canaries)


@pytest.mark.parametrize("spec", ["FY2026", "FY2024"])
def test_no_canary_from_the_pandera_path(spec: SpecVersion) -> None:
    frame, canaries = _planted_frame(spec)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        problems = intake.pandera_problems(frame, spec)
    assert problems
    _assert_clean(repr(problems), canaries)
    _assert_clean("\n".join(str(w.message) for w in caught), canaries)


def _raised(call: Callable[[], object]) -> BaseException:
    with pytest.raises(Exception) as caught:
        call()
    return caught.value


def _exception_text(error: BaseException) -> str:
    chain = [error, error.__cause__, error.__context__]
    formatted = "".join(traceback.format_exception(error))
    return "\n".join([formatted, *(repr(e) for e in chain if e is not None)])


def test_column_problems_raise_without_values() -> None:
    frame, canaries = _planted_frame("FY2026")
    missing = _raised(lambda: validate_intake(frame.drop(columns=["SSN"]), CONTEXT))
    unknown = _raised(lambda: validate_intake(frame.rename(columns={"SSN": canaries[0]}), CONTEXT))
    assert isinstance(missing, FileRejected) and missing.rule_id == "FILE-MISSING-COLUMNS"
    assert isinstance(unknown, FileRejected) and unknown.rule_id == "FILE-MISSING-COLUMNS"
    extra = frame.assign(**{canaries[1]: frame["SSN"]})
    surplus = _raised(lambda: validate_intake(extra, CONTEXT))
    assert isinstance(surplus, FileRejected) and surplus.rule_id == "FILE-UNKNOWN-COLUMNS"
    for error in (missing, unknown, surplus):
        _assert_clean(_exception_text(error), canaries)


def test_internal_failure_is_re_raised_without_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    frame, canaries = _planted_frame("FY2026")
    secret = canaries[3]

    def explode(*args: object, **kwargs: object) -> object:
        raise ValueError(f"invalid literal for int() with base 10: {secret!r}")

    monkeypatch.setattr(rowrules, "identity_rules", explode)
    error = _raised(lambda: validate_intake(frame, CONTEXT))
    assert isinstance(error, IntakeValidationError)
    assert "ValueError" in str(error)
    assert error.__cause__ is None and error.__context__ is None
    _assert_clean(_exception_text(error), canaries)


def test_internal_failure_in_finish_is_re_raised_without_the_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frame, canaries = _planted_frame("FY2026")
    run = ChunkedValidation(CONTEXT)
    run.validate_chunk(frame)

    def explode() -> object:
        raise KeyError(canaries[0])

    monkeypatch.setattr(run._state, "finish", explode)
    error = _raised(run.finish)
    assert isinstance(error, IntakeValidationError)
    _assert_clean(_exception_text(error), canaries)


def test_pandera_internal_failure_is_re_raised_without_the_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frame, canaries = _planted_frame("FY2026")
    model = intake.intake_model("FY2026")

    def explode(*args: object, **kwargs: object) -> object:
        raise ValueError(canaries[2])

    monkeypatch.setattr(model, "validate", explode)
    error = _raised(lambda: intake.pandera_problems(frame, "FY2026"))
    assert isinstance(error, IntakeValidationError)
    assert error.__context__ is None
    _assert_clean(_exception_text(error), canaries)


def test_confirmation_problems_carry_no_values() -> None:
    canaries = [_canary() for _ in range(4)]
    frame = pd.DataFrame(
        {
            "IntakeID": [canaries[0], "T1"],
            "AgencyID": ["a", canaries[1] * 3],
            "DateEntered": [canaries[2], "2026-03-02"],
            "Extra": [canaries[3], ""],
        },
        dtype=object,
    )
    problems = confirmation.confirmation_problems(frame)
    assert problems
    _assert_clean(repr(problems), canaries)
