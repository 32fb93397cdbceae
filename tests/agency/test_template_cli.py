"""``handoff template`` for agency staff: the suffix decides the format, and the dropdowns
show each code with its meaning; a value picked from a dropdown is accepted back."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest

from tests.conftest import run_cli


@pytest.mark.parametrize(
    ("args", "is_xlsx"),
    [(("x.xlsx",), True), (("x.XLSX",), True), (("x.csv",), False), (("--xlsx", "y.xlsx"), True)],
)
def test_suffix_decides_the_format(tmp_path: Path, args: tuple[str, ...], is_xlsx: bool) -> None:
    target = tmp_path / args[-1]
    run_cli("template", *args[:-1], str(target))
    assert zipfile.is_zipfile(target) is is_xlsx
    if not is_xlsx:
        assert target.read_bytes().startswith(b"\xef\xbb\xbfIntakeID,")


def test_dropdowns_show_code_and_meaning(tmp_path: Path) -> None:
    target = tmp_path / "intake.xlsx"
    run_cli("template", str(target))
    book = openpyxl.load_workbook(target)
    data = book["Intake"]
    header = [c.value for c in data[1]]
    column = header.index("VeteranStatus") + 1
    letter = openpyxl.utils.get_column_letter(column)
    (validation,) = [
        v for v in data.data_validations.dataValidation if str(v.sqref).startswith(f"{letter}2:")
    ]
    sheet_name, cells = validation.formula1.lstrip("=").split("!")
    codes = book[sheet_name.strip("'")]
    first, last = (c.replace("$", "") for c in cells.split(":"))
    shown = [row[0].value for row in codes[f"{first}:{last}"]]
    assert shown == [
        "0 - No",
        "1 - Yes",
        "8 - Client doesn't know",
        "9 - Client prefers not to answer",
        "99 - Data not collected",
    ]
