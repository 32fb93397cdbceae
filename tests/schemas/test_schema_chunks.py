"""Chunked validation gives the same verdicts as one whole-frame validation."""

from __future__ import annotations

import pandas as pd
import pytest

from hmis_handoff.errors import IntakeValidationError
from schemas.validate import ChunkedValidation, Problem, validate_chunk
from tests.schemas.helpers import CONTEXT
from tests.synthetic import make_valid_frame


def _messy_frame() -> pd.DataFrame:
    """600 rows in households of 3 with cross-row problems planted across chunk borders."""
    frame = make_valid_frame(600, household_size=3).astype(object)
    # Second head in household 33 (rows 99-101, straddling a 100-row chunk border).
    frame.loc[100, ["RelationshipToHoH", "DOB", "VeteranStatus"]] = ["1", "1970-01-01", "0"]
    # Row 250 repeats the person on row 10 (another chunk); row 420 reuses an IntakeID.
    for column in ("FirstName", "LastName", "DOB", "SSN"):
        frame.at[250, column] = str(frame.at[10, column])
    frame.at[420, "IntakeID"] = str(frame.at[5, "IntakeID"])
    # Head of household 66 (rows 198-200) has a bad SSN: members are held.
    frame.loc[198, "SSN"] = "123456789"
    # Head of household 80 (rows 240-242) has no consent: members are held too.
    frame.loc[240, "ROIConsent"] = "0"
    # A member entering before the head, across the 300-row border (household 100 = 300-302).
    frame.loc[301, "EntryDate"] = "2026-03-01"
    return frame


def _chunked(frame: pd.DataFrame, size: int) -> tuple[list[Problem], set[int], dict[int, str]]:
    run = ChunkedValidation(CONTEXT)
    problems: list[Problem] = []
    sendable: set[int] = set()
    not_transmittable: dict[int, str] = {}
    for start in range(0, len(frame), size):
        part = validate_chunk(run, frame.iloc[start : start + size])
        problems += part.problems
        sendable |= {int(i) + 2 for i in part.sendable.index[part.sendable.to_numpy()]}
        not_transmittable |= part.not_transmittable
    tail = run.finish()
    problems += tail.problems
    sendable -= tail.withheld
    not_transmittable = {r: v for r, v in not_transmittable.items() if r not in tail.errored}
    return sorted(problems, key=lambda p: (p.row, p.column, p.rule_id)), sendable, not_transmittable


@pytest.mark.parametrize("size", [100, 137, 600])
def test_chunks_agree_with_the_whole_frame(size: int) -> None:
    from schemas.validate import validate_intake

    frame = _messy_frame()
    whole = validate_intake(frame, CONTEXT)
    problems, sendable, not_transmittable = _chunked(frame, size)
    assert problems == whole.problems
    assert sendable == {int(i) + 2 for i in whole.sendable.index[whole.sendable.to_numpy()]}
    assert not_transmittable == whole.not_transmittable
    found = {(p.row, p.rule_id) for p in whole.problems}
    assert {(101, "HOH-COUNT"), (102, "HOH-COUNT"), (103, "HOH-COUNT")} <= found
    assert (252, "PERSON-DUPLICATE") in found and (12, "PERSON-DUPLICATE") not in found
    assert (422, "INTAKE-ID-DUPLICATE") in found
    assert {(201, "HOUSEHOLD-HOH-NOT-SENT"), (202, "HOUSEHOLD-HOH-NOT-SENT")} <= found
    assert {(243, "HOUSEHOLD-HOH-NOT-SENT"), (244, "HOUSEHOLD-HOH-NOT-SENT")} <= found
    assert (303, "HOUSEHOLD-ENTRY-DATE") in found
    assert whole.not_transmittable == {242: "ROI-MISSING"}


def test_chunks_must_share_columns() -> None:
    frame = make_valid_frame(10)
    run = ChunkedValidation(CONTEXT)
    run.validate_chunk(frame.iloc[:5])
    with pytest.raises(IntakeValidationError):
        run.validate_chunk(frame.iloc[5:].drop(columns=["MiddleName"]))


def test_no_chunks_after_finish() -> None:
    run = ChunkedValidation(CONTEXT)
    run.validate_chunk(make_valid_frame(3))
    assert run.finish().problems == []
    with pytest.raises(IntakeValidationError):
        run.validate_chunk(make_valid_frame(3))


def test_spec_version_can_be_fixed_up_front() -> None:
    run = ChunkedValidation(CONTEXT, spec_version="FY2024")
    part = run.validate_chunk(make_valid_frame(3, spec_version="FY2024"))
    assert part.spec_version == "FY2024"
