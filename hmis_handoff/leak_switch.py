"""A deliberate leak behind a test-only switch, so the canary sweep can show it fails.

``HANDOFF_TEST_PLANT_LEAK=1`` (read here and nowhere else, never set by any product path)
makes the validator log the first cell of the first data row: exactly the kind of leak the
whole-system canary sweep (``tests/canary/``) must find. Without the switch this does
nothing. It exists because a sweep that has never been seen to fail proves nothing.
"""

from __future__ import annotations

import logging
import os

import pandas as pd

__all__ = ["PLANT_LEAK_ENV", "plant_leak"]

PLANT_LEAK_ENV = "HANDOFF_TEST_PLANT_LEAK"
logger = logging.getLogger(__name__)


def plant_leak(frame: pd.DataFrame) -> None:
    """Log one cell value of ``frame`` when, and only when, the test switch is on."""
    if os.environ.get(PLANT_LEAK_ENV) != "1" or frame.empty:
        return
    row = frame.iloc[0]
    column = "FirstName" if "FirstName" in frame.columns else str(frame.columns[0])
    logger.warning("planted leak (%s=1): %s", PLANT_LEAK_ENV, row[column])
