"""The worklist of a package: what the data partner has to enter, and by when.

One row per delivered record: intake id, household id, head of household or not, intake
date, due date, business days left when the package was made, and the rule ids of the
warnings on that row (never a value). Sorted by due date, then household (head first), then
intake id, so the most urgent work is on top and a household stays together.

It travels inside the encrypted package only (the intake and household ids are the agency's
own), written as ``worklist.csv``: UTF-8 with a BOM, CRLF line ends, ISO dates.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

__all__ = [
    "WORKLIST_COLUMNS",
    "WorklistRow",
    "format_worklist",
    "read_worklist",
    "sort_rows",
    "worklist_csv",
]

WORKLIST_COLUMNS: Final = (
    "IntakeID",
    "HouseholdID",
    "HeadOfHousehold",
    "IntakeDate",
    "DueDate",
    "BusinessDaysLeft",
    "Warnings",
)


@dataclass(frozen=True, slots=True)
class WorklistRow:
    """One record to enter. ``business_days_left`` is counted on the packaging day in the
    CoC's timezone (negative once overdue); ``warnings`` are rule ids."""

    intake_id: str
    household_id: str
    head_of_household: bool
    intake_date: date
    due_date: date
    business_days_left: int
    warnings: tuple[str, ...] = ()

    def cells(self) -> list[str]:
        return [
            self.intake_id,
            self.household_id,
            "yes" if self.head_of_household else "no",
            self.intake_date.isoformat(),
            self.due_date.isoformat(),
            str(self.business_days_left),
            " ".join(self.warnings),
        ]


def sort_rows(rows: Iterable[WorklistRow]) -> list[WorklistRow]:
    """Due date first, then household with its head first, then intake id."""
    return sorted(
        rows, key=lambda r: (r.due_date, r.household_id, not r.head_of_household, r.intake_id)
    )


def worklist_csv(rows: Iterable[WorklistRow]) -> bytes:
    """The worklist as CSV bytes (UTF-8 with BOM), sorted."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(WORKLIST_COLUMNS)
    writer.writerows(row.cells() for row in sort_rows(rows))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def read_worklist(data: bytes) -> list[WorklistRow]:
    """Parse :func:`worklist_csv` output; raises ``ValueError`` if it is not one."""
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    header = next(reader, None)
    if header is None or tuple(header) != WORKLIST_COLUMNS:
        raise ValueError("not a worklist: unexpected header")
    return [
        WorklistRow(
            intake_id=cells[0],
            household_id=cells[1],
            head_of_household=cells[2] == "yes",
            intake_date=date.fromisoformat(cells[3]),
            due_date=date.fromisoformat(cells[4]),
            business_days_left=int(cells[5]),
            warnings=tuple(cells[6].split()),
        )
        for cells in reader
    ]


def _us(day: date) -> str:
    return f"{day:%a} {day:%m/%d/%Y}"


def format_worklist(rows: Sequence[WorklistRow]) -> list[str]:
    """Lines for the terminal: a table with US dates and weekdays, most urgent first."""
    ordered = sort_rows(rows)
    width = max([len("IntakeID"), *(len(r.intake_id) for r in ordered)])
    house = max([len("Household"), *(len(r.household_id) for r in ordered)])
    lines = [
        f"{'IntakeID':<{width}}  {'Household':<{house}}  HoH  {'Intake':<14}  "
        f"{'Due':<14}  Left  Warnings"
    ]
    for row in ordered:
        left = f"{row.business_days_left:>4}"
        lines.append(
            f"{row.intake_id:<{width}}  {row.household_id:<{house}}  "
            f"{'yes' if row.head_of_household else 'no ':<3}  {_us(row.intake_date):<14}  "
            f"{_us(row.due_date):<14}  {left}  {' '.join(row.warnings) or '-'}"
        )
    return lines
