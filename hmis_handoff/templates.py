"""Empty intake templates (CSV and XLSX) built from the caller's column list and code lists.

The caller passes the columns and codes from :mod:`schemas`, so the template and the
validator can never drift apart. The XLSX template has three sheets:

* ``Intake``: the header row; every column formatted as text so Excel keeps leading zeros
  in IDs, SSNs and ZIPs and leaves typed dates as typed; a dropdown of the allowed codes
  on each coded column, with the codes' meanings as the input prompt.
* ``Instructions``: the caller's instructions and, per column, its codes with meanings.
* ``Codes``: the dropdown lists, hidden and protected.

The reader (:mod:`connectors.xlsx`) accepts the filled template back: the helper sheets
start with a title row, not column names, so they never count as data sheets.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from hmis_handoff.fsutil import atomic_write_bytes

__all__ = [
    "CODES_SHEET",
    "CODES_TITLE",
    "DATA_SHEET",
    "INSTRUCTIONS_SHEET",
    "INSTRUCTIONS_TITLE",
    "TEMPLATE_HELPER_SHEETS",
    "TEXT_FORMAT",
    "CodeLists",
    "write_csv_template",
    "write_xlsx_template",
]

DATA_SHEET: Final = "Intake"
INSTRUCTIONS_SHEET: Final = "Instructions"
CODES_SHEET: Final = "Codes"
#: Sheets of our template that never hold intake rows (the reader skips them by name).
TEMPLATE_HELPER_SHEETS: Final = frozenset({INSTRUCTIONS_SHEET, CODES_SHEET})

INSTRUCTIONS_TITLE: Final = "How to fill in this intake template"
CODES_TITLE: Final = "Allowed codes for the Intake sheet (kept by the CoC; do not edit)"
TEXT_FORMAT: Final = "@"
_LAST_ROW: Final = 1_048_576
_PROMPT_MAX: Final = 255
_PROMPT_TITLE_MAX: Final = 32
_HEADER_FILL: Final = PatternFill("solid", fgColor="DDEBF7")

CodeLists = Mapping[str, Sequence[tuple[str, str]]]


def write_csv_template(path: Path, columns: Sequence[str]) -> None:
    """Write a CSV with only the header row (UTF-8 with BOM so Excel reads it as UTF-8,
    CRLF line ends), atomically with mode 0600."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(columns)
    atomic_write_bytes(path, buffer.getvalue().encode("utf-8-sig"))


def _text(sheet: Worksheet, row: int, column: int, text: str, *, bold: bool = False) -> None:
    """Write ``text`` as a string cell, even when it starts with ``=``."""
    cell = sheet.cell(row=row, column=column)
    cell.value = text
    cell.data_type = "s"
    cell.number_format = TEXT_FORMAT
    if bold:
        cell.font = Font(bold=True)


def _prompt(codes: Sequence[tuple[str, str]]) -> str:
    text = "; ".join(f"{code} = {label}" for code, label in codes)
    return text if len(text) <= _PROMPT_MAX else text[: _PROMPT_MAX - 1] + "…"


def _data_sheet(sheet: Worksheet, columns: Sequence[str]) -> None:
    sheet.title = DATA_SHEET
    for position, name in enumerate(columns, start=1):
        _text(sheet, 1, position, name, bold=True)
        sheet.cell(row=1, column=position).fill = _HEADER_FILL
        dimension = sheet.column_dimensions[get_column_letter(position)]
        dimension.number_format = TEXT_FORMAT
        dimension.width = max(12, len(name) + 4)
    sheet.freeze_panes = "A2"


def _codes_sheet(
    workbook: Workbook, code_lists: CodeLists, columns: Sequence[str]
) -> dict[str, str]:
    """Write the lists; return each coded column's dropdown range (``'Codes'!$C$3:$C$7``).

    Three columns per coded column: the code, its meaning, and ``code - meaning`` (what
    the dropdown shows and writes; the validator reads the code in front of `` - ``).
    """
    sheet = workbook.create_sheet(CODES_SHEET)
    _text(sheet, 1, 1, CODES_TITLE, bold=True)
    ranges: dict[str, str] = {}
    coded = [name for name in columns if code_lists.get(name)]
    for index, name in enumerate(coded):
        code_col = 3 * index + 1
        _text(sheet, 2, code_col, name, bold=True)
        _text(sheet, 2, code_col + 1, "Meaning", bold=True)
        _text(sheet, 2, code_col + 2, "Dropdown", bold=True)
        for offset, (code, label) in enumerate(code_lists[name]):
            _text(sheet, 3 + offset, code_col, code)
            _text(sheet, 3 + offset, code_col + 1, label)
            _text(sheet, 3 + offset, code_col + 2, f"{code} - {label}")
        letter = get_column_letter(code_col + 2)
        last = 2 + len(code_lists[name])
        ranges[name] = f"{quote_sheetname(CODES_SHEET)}!${letter}$3:${letter}${last}"
        sheet.column_dimensions[letter].width = max(10, len(name) + 2)
        sheet.column_dimensions[get_column_letter(code_col + 1)].width = 40
        sheet.column_dimensions[letter].width = 45
    sheet.sheet_state = "hidden"
    sheet.protection.sheet = True
    return ranges


def _dropdowns(
    sheet: Worksheet, columns: Sequence[str], code_lists: CodeLists, ranges: Mapping[str, str]
) -> None:
    for position, name in enumerate(columns, start=1):
        if name not in ranges:
            continue
        validation = DataValidation(
            type="list",
            formula1=f"={ranges[name]}",
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="Not an allowed code",
            error=f"Choose one of the codes listed for {name}."[:_PROMPT_MAX],
            showInputMessage=True,
            promptTitle=name[:_PROMPT_TITLE_MAX],
            prompt=_prompt(code_lists[name]),
        )
        letter = get_column_letter(position)
        validation.add(f"{letter}2:{letter}{_LAST_ROW}")
        sheet.add_data_validation(validation)


def _instructions_sheet(
    workbook: Workbook, columns: Sequence[str], code_lists: CodeLists, instructions: Sequence[str]
) -> None:
    sheet = workbook.create_sheet(INSTRUCTIONS_SHEET)
    _text(sheet, 1, 1, INSTRUCTIONS_TITLE, bold=True)
    sheet.cell(row=1, column=1).font = Font(bold=True, size=14)
    row = 3
    for line in instructions:
        _text(sheet, row, 1, line)  # unwrapped: long lines overflow into the empty cells
        row += 1
    row += 1
    _text(sheet, row, 1, "Column", bold=True)
    _text(sheet, row, 2, "Allowed codes", bold=True)
    for name in columns:
        row += 1
        _text(sheet, row, 1, name)
        codes = code_lists.get(name)
        if codes:
            _text(sheet, row, 2, "; ".join(f"{code} = {label}" for code, label in codes))
            sheet.cell(row=row, column=2).alignment = Alignment(wrap_text=True, vertical="top")
    sheet.column_dimensions["A"].width = 32
    sheet.column_dimensions["B"].width = 90


def write_xlsx_template(
    path: Path,
    columns: Sequence[str],
    code_lists: CodeLists,
    instructions: Sequence[str],
) -> None:
    """Write the XLSX template (see the module docstring), atomically with mode 0600.

    ``code_lists`` maps a column to its ``(code, meaning)`` pairs; columns without an entry
    get no dropdown. ``instructions`` are plain lines for the Instructions sheet.
    """
    workbook = Workbook()
    data = workbook.active
    assert data is not None
    _data_sheet(data, columns)
    _instructions_sheet(workbook, columns, code_lists, instructions)
    ranges = _codes_sheet(workbook, code_lists, columns)
    _dropdowns(data, columns, code_lists, ranges)
    workbook.active = 0
    buffer = io.BytesIO()
    workbook.save(buffer)
    atomic_write_bytes(path, buffer.getvalue())
