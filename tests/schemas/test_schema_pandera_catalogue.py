"""One declaration: every row-level rule of the catalogue is exactly one check of the pandera
intake schema, and production validation runs that schema."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pandas as pd
import pytest

from schemas.columns import SpecVersion
from schemas.intake_schema import CROSS_ROW_RULE_IDS, intake_schema, prepare
from schemas.rules import RULES
from schemas.validate import ValidationContext, validate_intake
from tests.synthetic import make_valid_row

CONTEXT = ValidationContext(agency_id="demo-agency", today=date(2026, 3, 9))

#: Rules that are not checks of the per-chunk schema, and why.
NOT_IN_SCHEMA_WHY = {
    # Cross-row rules must see every chunk of a file: CrossRowState records compact keys
    # per chunk and judges them once at ChunkedValidation.finish().
    **dict.fromkeys(CROSS_ROW_RULE_IDS, "cross-row"),
    # Gate reasons are not problems: they say why a valid row may not leave the agency.
    **{r.id: "gate" for r in RULES.values() if r.scope == "gate"},
    # File-level rules come from the reader and the pipeline (the file as a whole).
    **{r.id: "file" for r in RULES.values() if r.scope == "file"},
}


@pytest.mark.parametrize("spec", ["FY2026", "FY2024"])
def test_each_row_level_rule_has_exactly_one_check(spec: SpecVersion) -> None:
    schema = intake_schema(spec, CONTEXT)
    names = Counter(check.name for check in schema.checks)
    assert all(count == 1 for count in names.values()), names
    assert set(names) <= set(RULES), set(names) - set(RULES)
    for rule in RULES.values():
        if rule.id in NOT_IN_SCHEMA_WHY:
            assert names[rule.id] == 0, rule.id
        else:
            assert names[rule.id] == 1, rule.id
    # Every check's error text is its rule id: nothing else pandera could quote.
    assert all(check.error == check.name for check in schema.checks)


def test_the_schema_reports_failures_by_rule_id_and_cell() -> None:
    """The schema alone (no ChunkedValidation) finds a bad cell as pandera failure cases."""
    row = make_valid_row(IntakeID="T00001", VeteranStatus="7", FirstName="123456789")
    frame = prepare(pd.DataFrame([row], dtype=object), "FY2026")
    with pytest.raises(Exception) as caught:
        intake_schema("FY2026", CONTEXT).validate(frame, lazy=True, inplace=True)
    cases = caught.value.failure_cases  # type: ignore[attr-defined]
    found = {
        (int(i), str(c), column)
        for i, c, case in zip(cases["index"], cases["check"], cases["failure_case"], strict=True)
        for column in case
    }
    assert found == {
        (0, "CODE-NOT-IN-LIST", "VeteranStatus"),
        (0, "NAME-DIGITS-ONLY", "FirstName"),
    }


def test_a_rule_declared_only_in_pandera_is_enforced_by_validate_intake() -> None:
    rows = [
        make_valid_row(IntakeID="T00001", HouseholdID="H1", FirstName="Ada"),
        make_valid_row(IntakeID="T00002", HouseholdID="H2", LastName="078-05-1120"),
    ]
    outcome = validate_intake(pd.DataFrame(rows, dtype=object), CONTEXT)
    assert [(p.row, p.column, p.rule_id, p.severity) for p in outcome.problems] == [
        (3, "LastName", "NAME-DIGITS-ONLY", "error")
    ]
    assert outcome.sendable.tolist() == [True, False]


def test_a_batch_of_files_is_judged_once_and_split_back_per_file() -> None:
    """validate_batch gives each file exactly what validate_intake gives it alone: row
    numbers, problems, verdicts, and cross-row rules judged within the file only."""
    from hmis_handoff.errors import FileRejected
    from schemas.batch import validate_batch

    first = [make_valid_row(IntakeID="A1", HouseholdID="H1", SSN="701011001")]
    second = [
        make_valid_row(IntakeID="A1", HouseholdID="H1", SSN="701011002", VeteranStatus="7"),
        make_valid_row(IntakeID="A1", HouseholdID="H2", SSN="701011003", FirstName="42"),
    ]
    two_heads = [
        make_valid_row(IntakeID="B1", HouseholdID="H1", SSN="701011004", FirstName="Bo"),
        make_valid_row(IntakeID="B2", HouseholdID="H1", SSN="701011005", FirstName="Cy"),
    ]
    frames = {
        "first": pd.DataFrame(first, dtype=object),
        "second": pd.DataFrame(second, dtype=object),
        "broken": pd.DataFrame(first, dtype=object).drop(columns=["SSN"]),
        "third": pd.DataFrame(two_heads, dtype=object, index=[4, 7]),
    }
    batch = validate_batch(frames, CONTEXT)
    assert list(batch) == ["first", "second", "broken", "third"]
    broken = batch["broken"]
    assert isinstance(broken, FileRejected) and broken.rule_id == "FILE-MISSING-COLUMNS"
    for key in ("first", "second", "third"):
        alone = validate_intake(frames[key], CONTEXT)
        together = batch[key]
        assert not isinstance(together, FileRejected)
        assert together.problems == alone.problems
        assert together.sendable.tolist() == alone.sendable.tolist()
        assert together.not_transmittable == alone.not_transmittable
    # IntakeID A1 repeats across files but only the second file repeats it within itself.
    second_rules = {(p.row, p.rule_id) for p in batch["second"].problems}  # type: ignore[union-attr]
    assert second_rules == {
        (2, "CODE-NOT-IN-LIST"),
        (3, "INTAKE-ID-DUPLICATE"),
        (3, "NAME-DIGITS-ONLY"),
    }
    assert batch["first"].problems == []  # type: ignore[union-attr]
    third = batch["third"]
    assert not isinstance(third, FileRejected)
    assert [(p.row, p.rule_id, p.detail) for p in third.problems] == [
        (6, "HOH-COUNT", "Household of rows 6 and 9; it has 2 heads of household"),
        (9, "HOH-COUNT", "Household of rows 6 and 9; it has 2 heads of household"),
    ]


def test_a_context_never_shows_its_delivery_history() -> None:
    """pandera formats each check's statistics (the context among them) whenever a schema
    is built: the delivered IntakeIDs and content keys stay out of that text, which must
    not grow with the history (it did: building schemas cost O(deliveries) each)."""
    history = frozenset(f"CNRY-{n:06d}" for n in range(20_000))
    context = ValidationContext(
        agency_id="demo-agency",
        today=date(2026, 3, 9),
        previously_sent=history,
        sent_content=dict.fromkeys(history, "k" * 16),
    )
    text = repr(context)
    assert "CNRY-" not in text and "k" * 16 not in text
    assert len(text) < 300, len(text)
    assert len(intake_schema("FY2026", context).checks) == len(
        intake_schema("FY2026", CONTEXT).checks
    )
