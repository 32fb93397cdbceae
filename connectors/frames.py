"""Finish a raw positional block of cells into the reader's canonical all-text frame.

Both readers (CSV and XLSX) produce a 2-D object array of ``str`` whose columns are the
file's raw positions and whose row labels are spreadsheet row numbers minus 2. This module
applies the rules they share: all-whitespace cells become ``""``, columns with a blank
header must be empty, unrecognised columns are dropped (when the policy allows it), and
all-blank rows are dropped and counted.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from connectors.headers import HeaderPlan, column_label
from hmis_handoff.errors import FileRejected

__all__ = ["ObjectArray", "finish_block", "whitespace_mask"]

ObjectArray = npt.NDArray[np.object_]


def whitespace_mask(values: ObjectArray) -> npt.NDArray[np.bool_]:
    """True where a cell is non-empty and all whitespace (``values`` holds only ``str``).

    Tests each column's distinct values rather than every cell: most intake columns hold
    a handful of codes, so this is several times faster than a per-cell test.
    """
    mask = np.zeros(values.shape, dtype=bool)
    for position in range(values.shape[1]):
        column = values[:, position]
        spaces = [text for text in pd.unique(column) if text.isspace()]
        if spaces:
            mask[:, position] = pd.Series(column).isin(spaces).to_numpy()
    return mask


def finish_block(
    values: ObjectArray, row_labels: npt.NDArray[np.int64], plan: HeaderPlan
) -> tuple[pd.DataFrame, int]:
    """The canonical frame for one block, and how many blank rows were dropped from it.

    ``values`` has ``plan.width`` columns and is not modified.

    Raises:
        FileRejected: ``FILE-BLANK-HEADER`` when a column with a blank header holds data.
    """
    spaces = whitespace_mask(values)
    if plan.blank_tail and len(values):
        tail = list(plan.blank_tail)
        filled = (values[:, tail] != "") & ~spaces[:, tail]
        if filled.any():
            row_idx, col_idx = np.argwhere(filled)[0]
            position = plan.blank_tail[int(col_idx)] + 1
            raise FileRejected(
                "FILE-BLANK-HEADER",
                f"{column_label(position)} has data (first in row "
                f"{int(row_labels[row_idx]) + 2}) but no column name in row 1",
            )
    positions = [pos for pos, _ in plan.keep]
    kept = values[:, positions]  # fancy indexing: a copy we may change
    kept_spaces = spaces[:, positions]
    if kept_spaces.any():
        kept[kept_spaces] = ""
    blank = (kept == "").all(axis=1)
    dropped = int(blank.sum())
    if dropped:
        kept, row_labels = kept[~blank], row_labels[~blank]
    frame = pd.DataFrame(
        kept, index=pd.Index(row_labels), columns=plan.columns, dtype=object, copy=False
    )
    return frame, dropped
