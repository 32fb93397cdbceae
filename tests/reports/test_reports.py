"""Agency reports: counts first, every finding located, nothing from the file, nothing runnable."""

from __future__ import annotations

import csv
import html
import io
import stat
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from connectors.reader import read_intake
from hmis_handoff.errors import FileRejected
from hmis_handoff.reports import (
    CSV_FIELDS,
    HTML_ROW_LIMIT,
    ReportProblem,
    ReportSummary,
    RuleInfo,
    neutralise,
    write_agency_report,
    write_duplicate_notice,
)
from tests.reader.helpers import header_map

CHICAGO = ZoneInfo("America/Chicago")
RECEIVED = datetime(2026, 11, 20, 14, 3, tzinfo=CHICAGO)
RULES = {
    "DOB-FORMAT": RuleInfo("Date of birth is not yyyy-mm-dd", "Type dates as 2001-02-03.", "error"),
    "SSN-DQ": RuleInfo('=HYPERLINK("http://x") title', "+ check the SSN quality code", "warning"),
    "FILE-RAGGED-ROW": RuleInfo(
        "A row has more or fewer cells", "-Fix the <b>row</b> & save", "error"
    ),
}


def _rows(path: Path) -> list[dict[str, str]]:
    text = path.read_bytes().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _summary(**overrides: object) -> ReportSummary:
    values: dict[str, object] = dict(
        rows_received=10, rows_sent=7, rows_held_back=2, rows_not_transmittable=1, warnings=3
    )
    values.update(overrides)
    return ReportSummary(**values)  # type: ignore[arg-type]


def test_receipt_lists_every_problem_sorted_and_neutralised(tmp_path: Path) -> None:
    problems = [
        ReportProblem(row=5, column="SSN", rule_id="SSN-DQ", severity="warning"),
        ReportProblem(row=3, column="DOB", rule_id="DOB-FORMAT", severity="error"),
        ReportProblem(row=3, column="DOB", rule_id="DOB-FORMAT", severity="error"),
        ReportProblem(row=None, column=None, rule_id="UNKNOWN-RULE", severity="error"),
    ]
    paths = write_agency_report(
        tmp_path / "reports",
        file_ref="a7f3c2d1e0b9",
        received_at=RECEIVED,
        outcome_summary=_summary(package_ref="20261120-a7f3c2d1e0b9"),
        problems=problems,
        rules=RULES,
    )
    assert paths.csv.name == "2026-11-20_a7f3c2d1e0b9_receipt.csv"
    assert paths.html.name == "2026-11-20_a7f3c2d1e0b9_receipt.html"
    for path in (paths.csv, paths.html):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    rows = _rows(paths.csv)
    assert list(rows[0]) == list(CSV_FIELDS)
    assert [(r["row"], r["column"], r["rule_id"]) for r in rows] == [
        ("", "", "UNKNOWN-RULE"),
        ("3", "DOB", "DOB-FORMAT"),
        ("5", "SSN", "SSN-DQ"),
    ]
    assert rows[2]["title"].startswith("'=HYPERLINK")
    assert rows[2]["what_to_fix"].startswith("'+ check")
    page = paths.html.read_text()
    assert "<b>7</b> of 10 rows were sent" in page
    assert "20261120-a7f3c2d1e0b9" in page
    assert "<script" not in page and "=HYPERLINK(&quot;" in page


def test_rejection_report_carries_the_rule_guidance_and_detail(tmp_path: Path) -> None:
    paths = write_agency_report(
        tmp_path,
        file_ref="a7f3c2d1e0b9",
        received_at=RECEIVED,
        outcome_summary=_summary(
            rows_sent=0,
            rejected_rule="FILE-RAGGED-ROW",
            rejected_detail="row 7 has 8 fields; the header has 7",
        ),
        problems=[],
        rules=RULES,
    )
    assert paths.html.name == "2026-11-20_a7f3c2d1e0b9_rejected.html"
    (row,) = _rows(paths.csv)
    assert row["rule_id"] == "FILE-RAGGED-ROW"
    assert (
        row["what_to_fix"]
        == "'-Fix the <b>row</b> & save Where: row 7 has 8 fields; the header has 7."
    )
    page = paths.html.read_text()
    assert "not accepted" in page
    assert html.escape("-Fix the <b>row</b> & save") in page
    assert "row 7 has 8 fields" in page


def test_long_problem_lists_are_capped_in_html_but_complete_in_csv(tmp_path: Path) -> None:
    problems = [
        ReportProblem(i, "DOB", "DOB-FORMAT", "error") for i in range(2, HTML_ROW_LIMIT + 12)
    ]
    paths = write_agency_report(
        tmp_path,
        file_ref="ref1",
        received_at=RECEIVED,
        outcome_summary=_summary(),
        problems=problems,
        rules=RULES,
    )
    assert len(_rows(paths.csv)) == len(problems)
    assert f"The first {HTML_ROW_LIMIT:,} of {len(problems):,}" in paths.html.read_text()


def test_duplicate_notice(tmp_path: Path) -> None:
    paths = write_duplicate_notice(
        tmp_path,
        file_ref="a7f3c2d1e0b9",
        received_at=RECEIVED,
        original_ref="a7f3c2d1e0b9",
        original_received_at=datetime(2026, 11, 2, tzinfo=CHICAGO),
    )
    assert paths.html.name == "2026-11-20_a7f3c2d1e0b9_duplicate.html"
    expected = "Identical to file a7f3c2d1e0b9 received on 2026-11-02; not processed again."
    assert expected in paths.html.read_text()
    assert _rows(paths.csv)[0]["what_to_fix"] == expected
    unknown = write_duplicate_notice(
        tmp_path / "x",
        file_ref="b1",
        received_at=RECEIVED,
        original_ref="",
        original_received_at=None,
    )
    assert "Identical to a file received earlier" in unknown.html.read_text()


@pytest.mark.parametrize("ref", ["../x", "a/b", "", "CNRY name.csv", "x" * 65, "-lead"])
def test_refs_that_could_build_a_path_are_refused(tmp_path: Path, ref: str) -> None:
    with pytest.raises(ValueError):
        write_agency_report(
            tmp_path,
            file_ref=ref,
            received_at=RECEIVED,
            outcome_summary=_summary(),
            problems=[],
            rules=RULES,
        )
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "\0x"])
def test_neutralise_prefixes_formula_starts(cell: str) -> None:
    assert neutralise(cell) == "'" + cell
    assert neutralise("plain") == "plain"


def test_report_of_a_hostile_file_holds_no_planted_marker(tmp_path: Path) -> None:
    marker = "CNRY-5b1e0f7e-report"
    intake = tmp_path / f"{marker}.csv"
    intake.write_text(f"IntakeID,FirstName\n{marker},=cmd|' /C calc'!A0,{marker}\n")
    with pytest.raises(FileRejected) as caught:
        read_intake(intake, header_map=header_map)
    reports = tmp_path / "reports"
    problems = [ReportProblem(2, "FirstName", "DOB-FORMAT", "error")]
    paths = write_agency_report(
        reports,
        file_ref="c0ffee123456",
        received_at=RECEIVED,
        outcome_summary=_summary(
            rows_sent=0, rejected_rule=caught.value.rule_id, rejected_detail=caught.value.detail
        ),
        problems=problems,
        rules=RULES,
    )
    for path in reports.iterdir():
        data = path.read_bytes()
        assert b"CNRY" not in data
        assert b"calc" not in data
        assert marker.encode() not in path.name.encode()
    for row in _rows(paths.csv):
        assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r", "\0")) for v in row.values())
