"""Files as agency staff make them, end to end: an XLSX filled in Excel (real date cells,
US text dates, SSNs Excel stored as numbers, an empty second sheet) and a CSV saved as
Windows-1252 with US dates. Both are delivered, with the expected warnings; the partner's
package (decrypted with the real ``age`` tool) carries ISO dates and nine-character SSNs.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from hmis_handoff.ledger import FileState
from schemas.columns import column_names
from tests.agency.support import drop_folder, make_pipeline, process
from tests.packages import intake_text
from tests.synthetic import make_valid_row
from usecases.initialise import initialise

AGE = shutil.which("age")


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    initialise(data, demo=True)
    return data


def _package_rows(root: Path, package_id: str) -> dict[str, dict[str, str]]:
    """The delivered rows by IntakeID, decrypted with the standard age tool."""
    assert AGE is not None, "the age tool is required (make system-deps installs it)"
    package = root / "partners" / "demo-partner" / "outbox" / f"{package_id}.age"
    identity = root / "demo-keys" / "demo-partner.key"
    plain = subprocess.run(
        [AGE, "--decrypt", "-i", str(identity), str(package)],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout
    text = intake_text(plain)
    return {row["IntakeID"]: row for row in csv.DictReader(io.StringIO(text, newline=""))}


def _problems(receipt: str) -> set[tuple[int, str, str]]:
    """(row, column, rule id) of the receipt's row-by-row table."""
    found: set[tuple[int, str, str]] = set()
    table = receipt.split("<h2>Row by row</h2>", 1)[1]
    for row in table.split("<tr><td>")[1:]:
        cells = [c.split("</td>")[0] for c in ("<td>" + row).split("<td>")[1:]]
        found.add((int(cells[0]), cells[1], cells[4]))
    return found


def test_xlsx_as_excel_users_make_it_is_delivered_with_warnings(root: Path) -> None:
    columns = list(column_names("FY2026"))
    first = make_valid_row(IntakeID="X0001", HouseholdID="HX0001", SSN="070010001")
    second = make_valid_row(IntakeID="X0002", HouseholdID="HX0002", SSN="701021002")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Sheet1"
    sheet.append(columns)
    cells: list[list[object]] = [[row[c] for c in columns] for row in (first, second)]
    # Row 2: DOB and IntakeDate as real date cells; the SSN typed into a General cell, so
    # Excel stored it as the number 70010001 (its leading zero gone).
    cells[0][columns.index("DOB")] = date(1980, 5, 17)
    cells[0][columns.index("IntakeDate")] = date(2026, 3, 2)
    cells[0][columns.index("SSN")] = 70010001
    # Row 3: dates typed as US text into Text cells, the SSN with dashes.
    for column in ("IntakeDate", "ROISignedDate", "EntryDate", "DOB"):
        y, m, d = second[column].split("-")
        cells[1][columns.index(column)] = f"{int(m)}/{int(d)}/{y}"
    cells[1][columns.index("SSN")] = "701-02-1002"
    for values in cells:
        sheet.append(values)
    workbook.create_sheet("Sheet2")  # the empty second sheet Excel users leave behind
    workbook.save(drop_folder(root) / "March intakes.xlsx")

    (handled,) = process(make_pipeline(root))
    outcome = handled.outcome
    assert (outcome.state, outcome.rows_sent, outcome.rows_held) == (FileState.DELIVERED, 2, 0)
    assert _problems(handled.receipt) == {(2, "SSN", "SSN-LEADING-ZEROS-PADDED")}
    assert "Excel dropped the SSN&#x27;s leading zeros; they were put back" in handled.receipt
    assert outcome.package_id is not None
    sent = _package_rows(root, outcome.package_id)
    assert sent["X0001"]["SSN"] == "070010001"
    assert sent["X0001"]["DOB"] == "1980-05-17"
    assert sent["X0002"]["SSN"] == "701021002"
    for column in ("IntakeDate", "ROISignedDate", "EntryDate", "DOB"):
        assert sent["X0002"][column] == second[column]


def test_cp1252_csv_with_us_dates_is_delivered_with_a_mojibake_warning(root: Path) -> None:
    rows = [
        make_valid_row(IntakeID="W0001", HouseholdID="HW0001", SSN="701011001", FirstName="José"),
        # A name that went through the wrong encoding once already (UTF-8 read as cp1252).
        make_valid_row(
            IntakeID="W0002", HouseholdID="HW0002", SSN="701021002", LastName="OÃ©Testperson"
        ),
    ]
    us = []
    for row in rows:
        typed = dict(row)
        for column, value in row.items():
            if len(value) == 10 and value[4] == "-":
                y, m, d = value.split("-")
                typed[column] = f"{m}/{d}/{y}"  # MM/DD/YYYY
        us.append(typed)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(us[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(us)
    (drop_folder(root) / "intakes.csv").write_bytes(buffer.getvalue().encode("cp1252"))

    (handled,) = process(make_pipeline(root))
    outcome = handled.outcome
    assert (outcome.state, outcome.rows_sent, outcome.rows_held) == (FileState.DELIVERED, 2, 0)
    assert _problems(handled.receipt) == {(3, "LastName", "TEXT-MOJIBAKE")}
    assert "Accented letters or quotes look garbled" in handled.receipt
    assert outcome.package_id is not None
    sent = _package_rows(root, outcome.package_id)
    assert sent["W0001"]["FirstName"] == "José"
    for row in rows:
        for column in ("IntakeDate", "DOB", "EntryDate"):
            assert sent[row["IntakeID"]][column] == row[column]
