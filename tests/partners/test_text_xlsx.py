"""`decrypt -o x.xlsx` stores every cell as text: no number, date or formula conversion."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl

from hmis_handoff.partner import csv_to_text_xlsx
from hmis_handoff.payload import confirmation_sheet_xlsx


def test_cells_stay_text_even_when_they_look_like_numbers_dates_or_formulas(
    tmp_path: Path,
) -> None:
    values = ["001234567", "2026-07-02", '=HYPERLINK("http://x")', "@SUM(A1)", "1E5", "Zoë"]
    text = io.StringIO()
    csv.writer(text).writerows([list("ABCDEF"), values])
    source = io.BytesIO(("\ufeff" + text.getvalue()).encode("utf-8"))
    target = tmp_path / "out.xlsx"
    csv_to_text_xlsx(source, target, "Intakes", tmp_path)
    sheet = openpyxl.load_workbook(target).worksheets[0]
    [cells] = list(sheet.iter_rows(min_row=2, max_row=2))
    assert [c.value for c in cells] == values
    assert {c.data_type for c in cells} == {"s"}
    assert {c.number_format for c in cells} == {"@"}


def test_the_confirmation_sheet_is_prefilled_as_text(tmp_path: Path) -> None:
    data = confirmation_sheet_xlsx(["007", "=1+1"], "demo-agency", tmp_path)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows == [
        ["IntakeID", "AgencyID", "PersonalID", "DateEntered"],
        ["007", "demo-agency", None, None],
        ["=1+1", "demo-agency", None, None],
    ]
    assert sheet.cell(row=2, column=4).number_format == "mm/dd/yyyy"
