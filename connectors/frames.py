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

ObjectArray = npt.NDArray[np.object_]


_IS_SPACE = np.frompyfunc(str.isspace, 1, 1)


def blank_whitespace(values: ObjectArray) -> None:
    """Replace all-whitespace cells with ``""`` in place (``values`` holds only ``str``)."""
    if not values.size:
        return
    spaces = np.asarray(_IS_SPACE(values), dtype=bool)
    if spaces.any():
        values[spaces] = ""


def finish_block(
    values: ObjectArray, row_labels: npt.NDArray[np.int64], plan: HeaderPlan
) -> tuple[pd.DataFrame, int]:
    """The canonical frame for one block, and how many blank rows were dropped from it.

    ``values`` has ``plan.width`` columns and is modified in place.

    Raises:
        FileRejected: ``FILE-BLANK-HEADER`` when a column with a blank header holds data.
    """
    blank_whitespace(values)
    if plan.blank_tail and len(values):
        tail = values[:, list(plan.blank_tail)] != ""
        if tail.any():
            row_idx, col_idx = np.argwhere(tail)[0]
            position = plan.blank_tail[int(col_idx)] + 1
            raise FileRejected(
                "FILE-BLANK-HEADER",
                f"{column_label(position)} has data (first in row "
                f"{int(row_labels[row_idx]) + 2}) but no column name in row 1",
            )
    kept = values[:, [pos for pos, _ in plan.keep]]
    blank = (kept == "").all(axis=1) if kept.size else np.ones(len(kept), dtype=bool)
    frame = pd.DataFrame(
        kept[~blank], index=pd.Index(row_labels[~blank]), columns=plan.columns, dtype=object
    )
    return frame, int(blank.sum())
