"""Templates carry the caller's columns and codes, and the reader takes a filled one back."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import openpyxl
import pytest

from connectors.reader import read_intake
from hmis_handoff.errors import FileRejected
from hmis_handoff.templates import (
    CODES_SHEET,
    DATA_SHEET,
    INSTRUCTIONS_SHEET,
    write_csv_template,
    write_xlsx_template,
)
from tests.reader.helpers import COLUMNS, NAMES, header_map

CODES = {
    "RelationshipToHoH": [
        ("1", "Self (head of household)"),
        ("2", "Child"),
        ("99", "Not collected"),
    ],
}
INSTRUCTIONS = ["One row per household member.", "=SUM(A1) is text here, not a formula."]


def _xlsx(tmp_path: Path) -> Path:
    path = tmp_path / "template.xlsx"
    write_xlsx_template(path, COLUMNS, CODES, INSTRUCTIONS)
    return path


def test_csv_template_is_the_header_row_only(tmp_path: Path) -> None:
    path = tmp_path / "template.csv"
    write_csv_template(path, COLUMNS)
    assert path.read_bytes() == ("\ufeff" + ",".join(COLUMNS) + "\r\n").encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_xlsx_template_layout(tmp_path: Path) -> None:
    path = _xlsx(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [DATA_SHEET, INSTRUCTIONS_SHEET, CODES_SHEET]
    data, instructions, codes = (book[name] for name in book.sheetnames)
    assert [c.value for c in data[1]] == list(COLUMNS)
    assert data.freeze_panes == "A2"
    assert all(data.column_dimensions[c].number_format == "@" for c in "ABCDEF")
    assert codes.sheet_state == "hidden"
    assert codes.protection.sheet
    assert [codes.cell(row=r, column=1).value for r in range(3, 6)] == ["1", "2", "99"]
    (validation,) = data.data_validations.dataValidation
    assert validation.type == "list"
    assert validation.formula1 == "='Codes'!$C$3:$C$5"
    assert [codes.cell(row=r, column=3).value for r in range(3, 6)] == [
        "1 - Self (head of household)",
        "2 - Child",
        "99 - Not collected",
    ]
    assert str(validation.sqref) == "F2:F1048576"
    assert "99 = Not collected" in validation.prompt
    texts = [c.value for c in instructions["A"]]
    assert INSTRUCTIONS[1] in texts
    assert instructions["A4"].data_type == "s"


def test_xlsx_template_has_no_formula_cells(tmp_path: Path) -> None:
    with zipfile.ZipFile(_xlsx(tmp_path)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert all(b"<f>" not in archive.read(n) for n in sheets)


def test_filled_template_reads_back(tmp_path: Path) -> None:
    path = _xlsx(tmp_path)
    book = openpyxl.load_workbook(path)
    sheet = book[DATA_SHEET]
    sheet.append(["00042", NAMES, "O’Brien", "012345678", "2001-02-03", "1"])
    sheet.append([])
    sheet.append(["00043", "Zoë", "Ægir", "", "", "2"])
    buffer = io.BytesIO()
    book.save(buffer)
    path.write_bytes(buffer.getvalue())
    result = read_intake(path, header_map=header_map, required=COLUMNS)
    assert result.source_format == "xlsx"
    assert result.row_numbers == [2, 4]
    assert result.frame.loc[0].tolist() == [
        "00042",
        NAMES,
        "O’Brien",
        "012345678",
        "2001-02-03",
        "1",
    ]
    assert result.frame.loc[2].tolist() == ["00043", "Zoë", "Ægir", "", "", "2"]


def test_empty_template_is_refused_as_no_rows(tmp_path: Path) -> None:
    with pytest.raises(FileRejected) as caught:
        read_intake(_xlsx(tmp_path), header_map=header_map)
    assert caught.value.rule_id == "FILE-NO-ROWS"
