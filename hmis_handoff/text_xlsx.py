"""XLSX files whose every cell is text, for partners to open in Excel without damage.

Excel turns ``001234567`` into a number, ``2026-07-02`` into a date and ``=...`` into a
formula when it is given the chance; we never give it one. Every cell is written as a string
(``write_string``) in a text-formatted column (``@``), so leading zeros, accents, dates and
formula-looking text all arrive exactly as sent, and cells the partner types later in a text
column stay text too. Written with XlsxWriter in constant-memory mode: rows go to disk as they
come (or, for a small sheet, ``in_memory``: no spill files at all, which for a few rows costs
far less than creating and removing them). Columns given a ``date_columns`` entry are
formatted ``mm/dd/yyyy`` instead, for the partner to type a date into.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO

import xlsxwriter

__all__ = ["write_text_xlsx"]


def write_text_xlsx(
    target: IO[bytes],
    rows: Iterable[Sequence[str]],
    *,
    sheet_title: str,
    scratch: Path,
    widths: Sequence[float] = (),
    date_columns: Sequence[int] = (),
    in_memory: bool = False,
) -> None:
    """Write ``rows`` (the first is the header) to the seekable ``target`` as one sheet.

    ``scratch`` is a private (0700) directory for XlsxWriter's row spill files: the rows
    are client data and must not land in the system's shared temp directory.
    """
    workbook = xlsxwriter.Workbook(
        target,
        {
            "constant_memory": not in_memory,
            "in_memory": in_memory,
            "tmpdir": str(scratch),
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    text = workbook.add_format({"num_format": "@"})
    header = workbook.add_format({"num_format": "@", "bold": True})
    dates = workbook.add_format({"num_format": "mm/dd/yyyy"})
    sheet = workbook.add_worksheet(sheet_title)
    sheet.freeze_panes(1, 0)
    for index, width in enumerate(widths):
        sheet.set_column(index, index, width, dates if index in date_columns else text)
    for row_index, row in enumerate(rows):
        for column, value in enumerate(row):
            if row_index == 0:
                sheet.write_string(row_index, column, value, header)
            elif value == "":
                # A formatted blank: what the partner types here is text (or a date).
                sheet.write_blank(
                    row_index, column, None, dates if column in date_columns else text
                )
            else:
                sheet.write_string(row_index, column, value, text)
    workbook.close()
