"""pandera models of the intake file (FY2026 and FY2024), operating on the all-text frame.

:func:`intake_model` returns a real ``pandera.DataFrameModel`` per spec version, built from
the column table in :mod:`schemas.columns`: every column is ``Series[str]`` (the reader
keeps every cell as text; parsing to codes and dates happens in the checks, so a failed
parse is a reported failure, never a silent coercion), optional columns are
``required=False``, and ``Config.strict`` rejects unknown columns. Every check is named by
its rule id, so a failure folds straight into ``(row, column, rule id)``.

The models hold the context-free rules: column-level checks (blank, whitespace, code lists,
date shape and calendar validity, SSN shape and validity, id/CoC patterns, lengths, line
breaks, impermissible characters) and a few dataframe-level checks (HoH count per
household, race/RaceNone, name/SSN/DOB against their data-quality codes). Rules that need
the validation context (today, the agency, delivery history, consent) and the rest of the
cross-field rules live in :mod:`schemas.validate`, which is also much faster; these models
are the declarative contract, the benchmark baseline, and a cross-check in the tests.

Privacy: pandera's ``SchemaErrors`` quotes failing values in its message and keeps them in
``failure_cases`` and ``data``. :func:`pandera_problems` keeps only the index, column and
check name, and never lets the exception escape.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import cache
from typing import Any, Final

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaError, SchemaErrors
from pandera.typing import Series

from hmis_handoff.errors import IntakeValidationError
from schemas import cells, codes, ssn
from schemas.columns import ColumnSpec, SpecVersion, column_names, columns_for, race_columns
from schemas.normalise import NormaliseOptions, normalise
from schemas.rules import RULES
from schemas.validate import Problem

__all__ = ["FRAME_RULE_COLUMNS", "SeriesCheck", "intake_model", "pandera_problems"]

SeriesCheck = Callable[[pd.Series], pd.Series]


def _bools(values: Any, index: pd.Index) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=bool), index=index)


def _ok_or_blank(ok: Callable[[pd.Series], Any]) -> SeriesCheck:
    def check(series: pd.Series) -> pd.Series:
        text = cells.as_text(series)
        return _bools((text == "") | np.asarray(ok(text), dtype=bool), series.index)

    return check


def _required(series: pd.Series) -> pd.Series:
    return _bools(cells.as_text(series) != "", series.index)


def _no_surrounding_space(series: pd.Series) -> pd.Series:
    text = cells.as_text(series)
    return _bools(text == text.str.strip(), series.index)


def _calendar_date(text: pd.Series) -> Any:
    well_formed, days = cells.parse_iso_dates(text)
    return ~well_formed | ~np.isnat(days)


def _not_too_early(text: pd.Series) -> Any:
    _, days = cells.parse_iso_dates(text)
    return np.isnat(days) | (days >= np.datetime64(cells.EARLIEST_DATE, "D"))


def _column_checks(spec: ColumnSpec) -> list[tuple[str, SeriesCheck]]:
    """``(rule id, vectorised check)`` pairs for one column; True means the cell passes."""
    checks: list[tuple[str, SeriesCheck]] = []
    if spec.value_required:
        checks.append(("VALUE-REQUIRED", _required))
    if spec.kind in ("code", "date", "ssn", "coc", "id"):
        checks.append(("VALUE-WHITESPACE", _no_surrounding_space))
    if spec.kind == "code":
        allowed = spec.codes
        checks.append(("CODE-NOT-IN-LIST", _ok_or_blank(lambda t: t.isin(allowed))))
    if spec.kind == "date":
        checks += [
            ("DATE-FORMAT", _ok_or_blank(lambda t: t.str.fullmatch(cells.ISO_DATE))),
            ("DATE-INVALID", _ok_or_blank(_calendar_date)),
            ("DATE-TOO-EARLY", _ok_or_blank(_not_too_early)),
        ]
    if spec.kind == "ssn":
        checks += [
            ("SSN-FORMAT", _ok_or_blank(ssn.format_ok)),
            ("SSN-INVALID", _ok_or_blank(lambda t: ~ssn.invalid_mask(t))),
        ]
    if spec.kind == "coc":
        checks.append(("COC-FORMAT", _ok_or_blank(lambda t: t.str.fullmatch(cells.COC_CODE))))
    if spec.kind in ("id", "ssn"):
        checks.append(
            ("NUMBER-SCIENTIFIC", _ok_or_blank(lambda t: ~t.str.fullmatch(cells.SCIENTIFIC)))
        )
    if spec.kind in ("id", "name", "text"):
        checks.append(
            ("TEXT-LINE-BREAK", _ok_or_blank(lambda t: ~t.str.contains(cells.LINE_BREAK)))
        )
    if spec.max_length is not None and spec.kind in ("id", "name", "text", "freetext"):
        limit = spec.max_length
        checks.append(("TEXT-TOO-LONG", _ok_or_blank(lambda t: t.str.len() <= limit)))
    if spec.name == "IntakeID":
        checks.append(
            ("INTAKE-ID-FORMAT", _ok_or_blank(lambda t: t.str.fullmatch(cells.INTAKE_ID)))
        )
    if spec.kind in ("id", "name", "text", "freetext"):
        checks.append(
            (
                "TEXT-IMPERMISSIBLE-CHARS",
                _ok_or_blank(lambda t: ~t.str.contains(cells.IMPERMISSIBLE)),
            )
        )
    return checks


# Dataframe-level checks: plain pandas on the text, True where the row passes.


def _code_of(frame: pd.DataFrame, name: str) -> pd.Series:
    if name not in frame.columns:
        return pd.Series("", index=frame.index, dtype="str")
    return cells.as_text(frame[name])


def _hoh_count(frame: pd.DataFrame) -> pd.Series:
    household = _code_of(frame, "SubmittingAgencyID") + "\x1f" + _code_of(frame, "HouseholdID")
    is_head = (_code_of(frame, "RelationshipToHoH") == codes.HEAD_OF_HOUSEHOLD).astype(int)
    heads = is_head.groupby(household.to_numpy()).transform("sum")
    keyed = (_code_of(frame, "HouseholdID") != "") & (_code_of(frame, "SubmittingAgencyID") != "")
    return ~keyed | (heads == 1)


def _dq_consistent(value: str, dq: str) -> Callable[[pd.DataFrame], pd.Series]:
    def check(frame: pd.DataFrame) -> pd.Series:
        present = _code_of(frame, value) != ""
        quality = _code_of(frame, dq)
        reported = quality.isin(codes.DQ_REPORTED)
        missing = quality.isin(codes.REASONS_MISSING)
        return ~((reported & ~present) | (missing & present))

    return check


def _name_consistent(frame: pd.DataFrame) -> pd.Series:
    first = _code_of(frame, "FirstName") != ""
    last = _code_of(frame, "LastName") != ""
    quality = _code_of(frame, "NameDataQuality")
    bad = (
        ((quality == "1") & ~(first & last))
        | ((quality == "2") & ~(first | last))
        | (quality.isin(codes.REASONS_MISSING) & (first | last))
    )
    return ~bad


def _race_consistent(spec_version: SpecVersion) -> Callable[[pd.DataFrame], pd.Series]:
    names = race_columns(spec_version)

    def check(frame: pd.DataFrame) -> pd.Series:
        values = pd.DataFrame({n: _code_of(frame, n) for n in names})
        valid = values.isin(codes.NO_YES).all(axis=1)
        any_yes = (values == "1").any(axis=1)
        all_no = (values == "0").all(axis=1)
        none_given = _code_of(frame, "RaceNone") != ""
        return ~(valid & ((any_yes & none_given) | (all_no & ~none_given)))

    return check


#: Dataframe-level rules and the column a failure is reported on (as the fast path does).
FRAME_RULE_COLUMNS: Final = {
    "HOH-COUNT": "",
    "RACE-NONE-MISMATCH": "RaceNone",
    "NAME-DQ-MISMATCH": "NameDataQuality",
    "SSN-DQ-MISMATCH": "SSNDataQuality",
    "DOB-DQ-MISMATCH": "DOBDataQuality",
}


def _frame_checks(spec_version: SpecVersion) -> list[tuple[str, Callable[[pd.DataFrame], Any]]]:
    return [
        ("HOH-COUNT", _hoh_count),
        ("RACE-NONE-MISMATCH", _race_consistent(spec_version)),
        ("NAME-DQ-MISMATCH", _name_consistent),
        ("SSN-DQ-MISMATCH", _dq_consistent("SSN", "SSNDataQuality")),
        ("DOB-DQ-MISMATCH", _dq_consistent("DOB", "DOBDataQuality")),
    ]


def _as_classmethod(rule_id: str, target: str, fn: Callable[[Any], Any]) -> Any:
    def method(cls: Any, data: Any) -> Any:
        return fn(data)

    method.__name__ = f"check_{target}_{rule_id}".replace("-", "_")
    return method


@cache
def intake_model(spec_version: SpecVersion) -> type[pa.DataFrameModel]:
    """The pandera ``DataFrameModel`` of ``spec_version`` (built once, then cached)."""
    annotations: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for spec in columns_for(spec_version):
        annotations[spec.name] = Series[str]
        attributes[spec.name] = pa.Field(nullable=False, coerce=False)
        if not spec.header_required:
            annotations[spec.name] = Series[str] | None  # optional column
        for rule_id, fn in _column_checks(spec):
            method = _as_classmethod(rule_id, spec.name, fn)
            attributes[method.__name__] = pa.check(spec.name, name=rule_id, error=rule_id)(method)
    for rule_id, frame_fn in _frame_checks(spec_version):
        method = _as_classmethod(rule_id, "frame", frame_fn)
        attributes[method.__name__] = pa.dataframe_check(name=rule_id, error=rule_id)(method)

    class Config:
        strict = True
        ordered = False
        name = f"hmis-intake-{spec_version}"

    attributes["Config"] = Config
    attributes["__annotations__"] = annotations
    attributes["__module__"] = __name__
    model = type(f"Intake{spec_version}", (pa.DataFrameModel,), attributes)
    return model


def pandera_problems(
    frame: pd.DataFrame, spec_version: SpecVersion, options: NormaliseOptions | None = None
) -> list[Problem]:
    """Validate ``frame`` with :func:`intake_model` (lazy) and fold failures value-free.

    Like the fast path, the model judges the frame after :func:`schemas.normalise.normalise`
    (US dates, dashed SSNs, dropdown codes; ``options`` default to today, ``date_order``
    "us", CSV): the normaliser's own findings are added, and the model's column-level
    failures on cells the normaliser already judged are dropped (one cause, one message).
    Column-level failures keep their column; dataframe-level ones get column ``""``.
    Structural failures (a missing or unknown column) raise :class:`IntakeValidationError`
    naming the rule only; any other failure raises it with the exception type name only.
    """
    normalised = normalise(frame, spec_version, options or NormaliseOptions(today=date.today()))
    frame = normalised.frame
    index = frame.index
    integer_index = pd.api.types.is_integer_dtype(index.dtype)
    rows = (np.asarray(index, dtype=np.int64) if integer_index else np.arange(len(frame))) + 2
    own = [
        Problem(int(row), column, rule_id, RULES[rule_id].severity)
        for rule_id, column, mask in normalised.hits
        for row in rows[mask]
    ]
    judged = {
        (int(row), column) for column, mask in normalised.judged.items() for row in rows[mask]
    }
    found = [p for p in _pandera(frame, spec_version) if (p.row, p.column) not in judged]
    return sorted([*found, *own], key=lambda p: (p.row, p.column, p.rule_id))


def _pandera(frame: pd.DataFrame, spec_version: SpecVersion) -> list[Problem]:
    model = intake_model(spec_version)
    known = set(column_names(spec_version))
    failure: str | None = None
    cases: pd.DataFrame | None = None
    try:
        model.validate(frame, lazy=True)
        return []
    except SchemaErrors as errors:
        # Copy out index, column and check name only; the exception (with its values) dies here.
        cases = errors.failure_cases[["schema_context", "column", "check", "index"]].copy()
    except SchemaError:
        failure = "SchemaError"
    except Exception as exc:  # re-raised below without its message
        failure = type(exc).__name__
    if failure is not None or cases is None:
        raise IntakeValidationError(f"pandera validation failed ({failure})")
    return _fold(cases, known)


def _fold(cases: pd.DataFrame, known: set[str]) -> list[Problem]:
    checks = cases["check"].astype("str")
    structural = ~checks.isin(RULES.keys()) | cases["index"].isna()
    if bool(structural.any()):
        raise IntakeValidationError("the frame's columns do not fit the intake model")
    frame_level = (cases["schema_context"] == "DataFrameSchema").to_numpy(dtype=bool)
    column_level = cases["column"].astype("str").where(cases["column"].isin(known), "")
    columns = [
        FRAME_RULE_COLUMNS.get(rule_id, "") if is_frame else str(column)
        for rule_id, column, is_frame in zip(checks, column_level, frame_level, strict=True)
    ]
    problems = {
        Problem(int(row) + 2, column, rule_id, RULES[rule_id].severity)
        for row, column, rule_id in zip(cases["index"], columns, checks, strict=True)
    }
    return sorted(problems, key=lambda p: (p.row, p.column, p.rule_id))
