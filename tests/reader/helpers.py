"""Builders for reader tests: a small header map, canary values, workbook surgery."""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import openpyxl

COLUMNS = ("IntakeID", "FirstName", "LastName", "SSN", "DOB", "RelationshipToHoH")
_FOLDED = {re.sub(r"[\s_\-]", "", c).casefold(): c for c in COLUMNS}
_ALIASES = {"dateofbirth": "DOB", "first": "FirstName", "socialsecuritynumber": "SSN"}
NAMES = "José O’Brien Zoë Ægir"


def header_map(raw: str) -> str | None:
    """A stand-in for ``schemas.columns.canonical_header``: case, spaces, ``_``, aliases."""
    key = re.sub(r"[\s_\-]", "", raw.replace("\ufeff", "")).casefold()
    return _FOLDED.get(key) or _ALIASES.get(key)


def canary() -> str:
    """A unique value that must never appear outside the input file."""
    return f"CNRY-{uuid.uuid4().hex}"


def csv_text(rows: Iterable[Sequence[str]], sep: str = ",", newline: str = "\r\n") -> str:
    return newline.join(sep.join(row) for row in rows) + newline


def good_rows(value: str, n: int = 2) -> list[list[str]]:
    """Header plus ``n`` data rows, each cell holding ``value`` (with a per-row suffix)."""
    rows = [list(COLUMNS)]
    for i in range(n):
        rows.append([f"{value}{i}", value, value, value, value, value])
    return rows


def save_workbook(
    path: Path,
    sheets: Sequence[tuple[str, Sequence[Sequence[object]], str]],
    *,
    number_formats: Mapping[str, str] | None = None,
) -> Path:
    """Write a workbook: ``sheets`` are (title, rows, state); formats apply to sheet 1 cells."""
    workbook = openpyxl.Workbook()
    first = workbook.active
    assert first is not None
    workbook.remove(first)
    for title, rows, state in sheets:
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
        sheet.sheet_state = state
    for coordinate, fmt in (number_formats or {}).items():
        workbook.worksheets[0][coordinate].number_format = fmt
    buffer = io.BytesIO()
    workbook.save(buffer)
    path.write_bytes(buffer.getvalue())
    return path


def rewrite_zip(
    path: Path,
    change: Callable[[str, bytes], bytes | None],
    extra: Mapping[str, bytes] | None = None,
) -> Path:
    """Rewrite each entry through ``change`` (``None`` drops it) and add ``extra`` entries."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(path.read_bytes())) as source,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = change(info.filename, source.read(info))
            if data is not None:
                target.writestr(info.filename, data)
        for name, data in (extra or {}).items():
            target.writestr(name, data)
    path.write_bytes(buffer.getvalue())
    return path
