"""The receipt's "What to fix" table lists what must be fixed first, then rows not sent,
then warnings (most frequent first within each): it was ordered by count alone, so the
demo's six months-homeless warnings sat above its one must-fix SSN error."""

from __future__ import annotations

from pathlib import Path

from tests.agency.support import drop_folder, make_pipeline, process
from tests.synthetic import make_valid_row, write_sample_csv
from usecases.initialise import initialise


def head(n: int, **changes: str) -> dict[str, str]:
    values = {"IntakeID": f"F{n:04d}", "HouseholdID": f"HF{n:04d}", "SSN": f"701{n:02d}1{n:03d}"}
    return make_valid_row(**{**values, **changes})


def test_must_fix_then_not_sent_then_warnings(tmp_path: Path) -> None:
    root = tmp_path / "data"
    initialise(root, demo=True)
    # The synthetic head was homeless from 2026-01-15 to 2026-03-02: 3 months, not 2.
    warned = {"TimesHomelessPastThreeYears": "1", "MonthsHomelessPastThreeYears": "102"}
    rows = [head(n, **warned) for n in range(1, 5)]
    rows.append(head(5, VeteranStatus="3"))
    rows.append(head(6, ROIConsent="0", ROISignedDate=""))
    write_sample_csv(drop_folder(root) / "order.csv", rows)
    (handled,) = process(make_pipeline(root))
    table = handled.receipt.split("<h2>What to fix</h2>", 1)[1].split("</table>", 1)[0]
    where = [table.index(rule) for rule in ("CODE-NOT-IN-LIST", "ROI-MISSING", "MONTHS-HOMELESS")]
    assert where == sorted(where), table
    assert table.count("MONTHS-HOMELESS-MISMATCH") == 1
