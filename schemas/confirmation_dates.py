"""The date a partner gives ``handoff confirm --entered-on``: ISO, US ``m/d/yyyy``, or "today".

Month first, always, read exactly as intake and confirmation files are read
(:func:`schemas.normalise.us_dates`): a US CoC's partners never mean day-first, and guessing
per value would make ``03/04`` mean two things. Impossible dates (``02/30/2026``) and dates
that exist only day first are refused, not rolled over or guessed.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from schemas.normalise import us_dates

__all__ = ["parse_entered_on"]


def parse_entered_on(text: str, today: date) -> date:
    """``today``, ``yyyy-mm-dd`` or ``m/d/yyyy`` as a date; ``ValueError`` otherwise."""
    value = text.strip()
    if value.lower() == "today":
        return today
    iso, accepted, day_first, _ = us_dates(pd.Series([value], dtype=object), today.year)
    if bool(accepted[0]):
        return date.fromisoformat(str(iso.iloc[0]))
    if bool(day_first[0]):
        raise ValueError("the date only makes sense day first; write it month/day/year")
    return date.fromisoformat(value)
