"""``INTAKE-ID-HAS-PII``: an IntakeID must not carry the client's SSN, birth date or name.

The IntakeID is the one client-level value that leaves the data file: it is stored in the
ledger and appears in worklists, confirmations, events and artifacts. So a row is refused
(error) when its IntakeID, compared case-insensitively and ignoring separators:

* contains the row's SSN (nine digits), or has the shape of an SSN (``123-45-6789``);
* contains the row's DOB as 8 digits in year-month-day, month-day-year or day-month-year
  order, or 6 digits as month-day-two-digit-year;
* contains the row's first or last name (letters only, names of 3 letters or more; shorter
  ones would match too many honest ids).

The allowed characters (``INTAKE-ID-FORMAT``, ``[A-Za-z0-9_-]{1,32}``) are checked by the
column rules; this rule adds what a pattern cannot know.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

import numpy as np
import pandas as pd

__all__ = ["RULE_ID", "intake_id_pii_mask"]

RULE_ID: Final = "INTAKE-ID-HAS-PII"
_MIN_NAME_LETTERS: Final = 3
_NON_DIGITS = re.compile(r"\D+")
_NON_LETTERS = re.compile(r"[\W\d_]+")
_SSN_SHAPE = re.compile(r"\d{3}-\d{2}-\d{4}")


def _dob_forms(dob_digits: str) -> tuple[str, ...]:
    if len(dob_digits) != 8:
        return ()
    year, month, day = dob_digits[:4], dob_digits[4:6], dob_digits[6:]
    return (dob_digits, month + day + year, day + month + year, month + day + year[2:])


def _row_has_pii(intake_id: str, first: str, last: str, dob: str, ssn: str) -> bool:
    if not intake_id:
        return False
    if _SSN_SHAPE.search(intake_id):
        return True
    id_digits = _NON_DIGITS.sub("", intake_id)
    ssn_digits = _NON_DIGITS.sub("", ssn)
    if len(ssn_digits) == 9 and ssn_digits in id_digits:
        return True
    if any(form in id_digits for form in _dob_forms(_NON_DIGITS.sub("", dob))):
        return True
    id_letters = _NON_LETTERS.sub("", intake_id.casefold())
    for name in (first, last):
        letters = _NON_LETTERS.sub("", name.casefold())
        if len(letters) >= _MIN_NAME_LETTERS and letters in id_letters:
            return True
    return False


def intake_id_pii_mask(text: Mapping[str, pd.Series]) -> np.ndarray:
    """Rows (positional) whose IntakeID holds the row's SSN, DOB or name.

    ``text`` maps ``IntakeID``, ``FirstName``, ``LastName``, ``DOB`` and ``SSN`` to aligned
    all-text Series (blank cells as ""). Never raises on odd values.
    """
    columns = ("IntakeID", "FirstName", "LastName", "DOB", "SSN")
    values = [text[name].fillna("").astype(str).tolist() for name in columns]
    return np.fromiter(
        (_row_has_pii(*row) for row in zip(*values, strict=True)), dtype=bool, count=len(values[0])
    )
