"""Small helpers shared by the hold-under-attack regression tests."""

from __future__ import annotations

import csv
from pathlib import Path


def report_rows(root: Path, agency: str = "demo-agency") -> list[dict[str, str]]:
    """Every row of every CSV report in the agency's reports folder."""
    found: list[dict[str, str]] = []
    for path in sorted((root / "agencies" / agency / "reports").glob("*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            found.extend(csv.DictReader(handle))
    return found
