"""Intake files for the operators' browser test, every identifying cell a unique marker.

Markers are letters-only words (``Cnryab…``) in the name, user and location columns, unique
9-digit SSNs and unique dates of birth, so a marker found anywhere outside the data files
and packages is a leak. File names carry markers too. Ids (IntakeID, HouseholdID) and HUD
codes are meant to be shown and are not markers.
"""

from __future__ import annotations

import csv
import itertools
import string
from datetime import date, timedelta
from pathlib import Path

from tests.synthetic import make_valid_row

TEXT_MARKER_COLUMNS = ("FirstName", "MiddleName", "LastName", "CollectedByUser")
DATE_COLUMNS = (
    "IntakeDate",
    "ROISignedDate",
    "EntryDate",
    "AssessmentDate",
    "EventDate",
    "DateToStreetESSH",
)


class Markers:
    """Hands out unique markers and remembers every one."""

    def __init__(self) -> None:
        self._words = ("".join(p) for p in itertools.product(string.ascii_lowercase, repeat=4))
        self._ssn = itertools.count(70_011_0101)
        self._dob = itertools.count(0)
        self.all: list[str] = []

    def word(self, prefix: str = "Cnry") -> str:
        value = prefix + next(self._words)
        self.all.append(value)
        return value

    def ssn(self) -> str:
        value = str(next(self._ssn))
        self.all.append(value)
        return value

    def dob(self) -> str:
        value = (date(1961, 3, 7) + timedelta(days=37 * next(self._dob))).isoformat()
        self.all.append(value)
        return value


def canary_row(
    markers: Markers, intake_id: str, intake_date: date, **overrides: str
) -> dict[str, str]:
    """A valid row whose identifying cells are all fresh markers."""
    day = intake_date.isoformat()
    values = {c: markers.word() for c in TEXT_MARKER_COLUMNS}
    values |= {c: day for c in DATE_COLUMNS}
    values |= {"SSN": markers.ssn(), "DOB": markers.dob()}
    values |= {"AssessmentLocation": markers.word("Cnryloc"), "IntakeID": intake_id}
    values |= {"HouseholdID": "HH" + intake_id}
    values |= overrides
    return make_valid_row(**values)


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def file_name(markers: Markers, kind: str) -> str:
    return f"{markers.word('Cnryfile')}-{kind}.csv"


GOOD_INTAKE = date(2026, 12, 3)  # a Thursday: due 2026-12-08, overdue as of 2026-12-10
AS_OF = date(2026, 12, 10)


def operator_files(markers: Markers) -> list[tuple[str, list[dict[str, str]]]]:
    """A good, a partly bad (one row's SSN is not an SSN) and a refused file (unknown
    columns), as (kind, rows); every identifying cell a marker."""
    good = [canary_row(markers, f"OPG{n:04d}", GOOD_INTAKE) for n in range(3)]
    partly = [canary_row(markers, f"OPP{n:04d}", GOOD_INTAKE) for n in range(3)]
    partly[1]["SSN"] = markers.word("Cnrybadssn")
    refused = [{markers.word("Cnryhdr"): markers.word(), markers.word("Cnryhdr"): markers.ssn()}]
    return [("good", good), ("partly-bad", partly), ("refused", refused)]


def drop(folder: Path, markers: Markers, kind: str, rows: list[dict[str, str]]) -> None:
    """Write under a temp name, then rename in (as careful uploaders do)."""
    temp = folder / f".upload-{kind}.part"
    write_csv(temp, rows)
    temp.rename(folder / file_name(markers, kind))
