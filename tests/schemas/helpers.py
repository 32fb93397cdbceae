"""Helpers for the schema tests."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from schemas.validate import ValidationContext, ValidationOutcome, validate_intake
from tests.synthetic import AGENCY_ID, TODAY

CONTEXT = ValidationContext(agency_id=AGENCY_ID, today=TODAY)


def validate_rows(rows: list[dict[str, str]], **changes: object) -> ValidationOutcome:
    """Validate row dicts (as the reader would hand them over: object dtype) in the test
    context, with ``changes`` applied to the context."""
    context = replace(CONTEXT, **changes)  # type: ignore[arg-type]
    return validate_intake(pd.DataFrame(rows, dtype=object), context)


def rules_on(outcome: ValidationOutcome, row: int = 2) -> set[tuple[str, str]]:
    """``(rule id, column)`` pairs reported on spreadsheet ``row``."""
    return {(p.rule_id, p.column) for p in outcome.problems if p.row == row}


def rule_ids(outcome: ValidationOutcome) -> set[str]:
    return {p.rule_id for p in outcome.problems}
