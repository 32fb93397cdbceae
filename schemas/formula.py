"""Cells a spreadsheet would run as a formula (CSV injection), found and neutralised.

OWASP's CSV-injection guidance: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return may be executed as a formula (``=cmd|' /C calc'!A0``, ``@SUM(...)``,
``=HYPERLINK(...)``) when the data partner opens the decrypted CSV in Excel or LibreOffice.

Decision (README "Formula cells"): such a cell is **sent**, with one apostrophe put in
front (``'=HYPERLINK(...)``), the form spreadsheets themselves use for "this is text". A
legitimate value that happens to start that way (a hyphenated name typed ``-Smith``) is
then shown as text too and keeps every character; the agency's report carries the warning
``CELL-FORMULA`` (row and column, never the value) so it can fix its records, and the
partner strips the one leading apostrophe if the value really started with that character.
The package's own CSV is the only place this rewriting happens: the validator judges the
original value.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

__all__ = ["FORMULA_PREFIXES", "NEUTRALISER", "formula_mask", "neutralise"]

#: First characters that make a spreadsheet evaluate a cell.
FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r")
#: What is put in front of such a cell.
NEUTRALISER: Final = "'"


def formula_mask(values: pd.Series) -> np.ndarray:
    """True where a text cell starts like a formula (non-text cells count as False)."""
    return np.asarray(values.str.startswith(FORMULA_PREFIXES).fillna(False), dtype=bool)


def neutralise(values: pd.Series) -> pd.Series:
    """``values`` with :data:`NEUTRALISER` put in front of every formula-like cell."""
    mask = formula_mask(values)
    if not mask.any():
        return values
    out = values.copy()
    out[mask] = NEUTRALISER + values[mask]
    return out
