"""Dates a data partner writes on a confirmation: ISO, US ``m/d/yyyy``, or "today".

Partners type dates the way US spreadsheets show them (``12/05/2026`` is December 5th);
Excel date cells reach us as ISO text already (see :mod:`connectors.xlsx`). Month first,
always: a US CoC's partners never mean day-first, and guessing per value would make
``03/04`` mean two things. Impossible dates (``02/30/2026``) are refused, not rolled over.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

import pandas as pd

__all__ = ["US_DATE", "parse_entered_on", "us_dates_to_iso"]

#: ``m/d/yyyy`` with one- or two-digit month and day, optionally followed by a time.
US_DATE: Final = (
    r"(?P<m>[0-9]{1,2})/(?P<d>[0-9]{1,2})/(?P<y>[0-9]{4})"
    r"(?P<t>[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?)?"
)
_US: Final = re.compile(US_DATE)


def us_dates_to_iso(text: pd.Series) -> pd.Series:
    """Each ``m/d/yyyy[ hh:mm[:ss]]`` cell rewritten ``yyyy-mm-dd[ hh:mm[:ss]]``; others kept."""
    parts = text.str.extract(f"^{US_DATE}$")
    matched = parts["y"].notna()
    if not bool(matched.any()):
        return text
    times = parts["t"].fillna("").str.replace("T", " ", regex=False)
    hours = times.str.extract(r"^ ([0-9]{1,2})(:.*)$")
    times = times.where(hours[0].isna(), " " + hours[0].str.zfill(2) + hours[1])
    iso = parts["y"] + "-" + parts["m"].str.zfill(2) + "-" + parts["d"].str.zfill(2) + times
    return text.where(~matched, iso)


def parse_entered_on(text: str, today: date) -> date:
    """``today``, ``yyyy-mm-dd`` or ``m/d/yyyy`` as a date; ``ValueError`` otherwise."""
    value = text.strip()
    if value.lower() == "today":
        return today
    match = _US.fullmatch(value)
    if match and not match.group("t"):
        return date(int(match.group("y")), int(match.group("m")), int(match.group("d")))
    return date.fromisoformat(value)
