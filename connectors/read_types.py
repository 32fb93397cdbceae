"""The reader's value types: limits, options and the all-text result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

__all__ = ["HeaderMap", "ReadLimits", "ReadResult", "SourceFormat", "UnknownPolicy"]

#: Maps one raw header cell to our canonical column name, or ``None`` if it is not ours.
HeaderMap = Callable[[str], str | None]
#: What to do with header cells ``header_map`` does not recognise.
UnknownPolicy = Literal["reject", "drop"]
SourceFormat = Literal["csv", "xlsx"]


@dataclass(frozen=True)
class ReadLimits:
    """Resource caps checked before (or while) parsing.

    ``max_rows`` counts data rows, blank ones included, since it bounds work, not content.
    ``max_xlsx_uncompressed`` caps the sum of the zip entries' declared sizes and
    ``max_xlsx_ratio`` caps any one large entry's expansion ratio. The cell caps are
    counted before parsing (see connectors/xlsx_cells.py).
    """

    max_bytes: int = 50 * 2**20
    max_rows: int = 200_000
    max_xlsx_uncompressed: int = 200 * 2**20
    max_xlsx_ratio: int = 100
    # Excel's own column limit: a real row never has more cells. A sheet cap bounds CPU.
    max_xlsx_cells_per_row: int = 16_384
    max_xlsx_cells_per_sheet: int = 25_000_000


@dataclass
class ReadResult:
    """An intake file (or one chunk of it) as text.

    ``frame``: every cell is a ``str`` (object dtype); a blank cell is ``""``. Columns are
    canonical names in file order. The index is the agency's spreadsheet row number minus 2
    (the header is row 1), so dropped blank rows leave gaps rather than shifting numbers.
    ``column_positions`` maps each canonical column to its 1-based position in the file.
    ``unknown_columns`` lists 1-based positions of unrecognised header cells (only non-empty
    with ``on_unknown="drop"``). ``encoding`` is the text encoding (``"xlsx"`` for
    workbooks) and ``delimiter`` is ``None`` for workbooks.
    """

    frame: pd.DataFrame
    encoding: str
    delimiter: str | None
    source_format: SourceFormat
    blank_rows_dropped: int
    unknown_columns: list[int] = field(default_factory=list)
    column_positions: dict[str, int] = field(default_factory=dict)

    @property
    def row_numbers(self) -> list[int]:
        """The spreadsheet row number of each frame row, in frame order."""
        return [int(i) + 2 for i in self.frame.index]
