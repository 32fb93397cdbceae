"""`handoff confirmations`: one pass over the partners' confirmations folders without
`handoff up`, as the partner's path runs on a host that does not keep the stack up.

The partner fills part of the confirmation sheet and drops it with an HMIS export of the
imported set in which Excel rewrote one client's DOB: the filled rows and the export's valid
rows mark records entered, the blank rows wait, the refused export row is reported by rule
id, and `handoff.record.entered` reaches the server as from every other way of confirming.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from tests.conftest import api_port, run_cli
from tests.partners.conftest import Delivered
from tests.partners.test_end_to_end import entered, entered_events

HMIS_FILES = ("Export.csv", "Client.csv", "Enrollment.csv", "Assessment.csv", "Event.csv")
NOW = "2026-07-09T16:00:00-05:00"  # a date no other test's events carry (shared server)


@pytest.mark.server
def test_one_pass_uses_the_sheet_and_the_export_and_emits_the_event(
    prefect_api: str, delivered: Delivered, tmp_path: Path
) -> None:
    started = datetime.now(UTC) - timedelta(seconds=5)  # events of this test come later
    config = str(delivered.root / "handoff.toml")
    sheet, hmis = tmp_path / "confirm.xlsx", tmp_path / "hmis"
    run_cli(
        "decrypt", str(delivered.package), "-i", str(delivered.key), "--signer",
        delivered.fingerprint, "--confirmation-sheet", str(sheet), "--hmis-csv", str(hmis),
    )  # fmt: skip
    inbox = delivered.root / "partners" / "demo-partner" / "confirmations"
    book = openpyxl.load_workbook(sheet)
    rows = list(book.worksheets[0].iter_rows(min_row=2))
    assert [r[0].value for r in rows] == ["PT-0002", "PT-0001", "PT-0003"]
    rows[0][3].value = "07/06/2026"  # PT-0002 by the sheet; the other two left blank
    book.save(inbox / "confirm.xlsx")

    client = pd.read_csv(hmis / "Client.csv", dtype=str, keep_default_na=False)
    by_ssn = {r["SSN"]: r["IntakeID"] for r in delivered.rows}
    broken = int(client.index[[by_ssn[s] == "PT-0001" for s in client["SSN"]]][0])
    client.loc[broken, "DOB"] = "4/3/2015"  # PT-0001's client row: refused by our model
    with zipfile.ZipFile(inbox / "export.zip", "w") as archive:
        for name in HMIS_FILES:
            frame = (
                client
                if name == "Client.csv"
                else pd.read_csv(hmis / name, dtype=str, keep_default_na=False)
            )
            if "DateCreated" in frame:
                frame["DateCreated"] = "2026-07-08 11:00:00"
            archive.writestr(name, frame.to_csv(index=False, lineterminator="\r\n"))

    env = {"HANDOFF_PREFECT__PORT": str(api_port(prefect_api)), "HANDOFF_NOW": NOW}
    out = run_cli("confirmations", "--config", config, "--json", env=env)
    [summary] = json.loads(out.stdout)
    assert summary["partner"] == "demo-partner" and summary["newly_entered"] == 2
    assert sorted(i["kind"] for i in summary["items"]) == ["confirmation", "export"]
    assert all(i["refused"] is None for i in summary["items"])
    assert entered(delivered.root / "handoff.toml") == {
        "PT-0002": date(2026, 7, 6),
        "PT-0003": date(2026, 7, 8),
    }
    assert sorted(p.name for p in inbox.iterdir()) == ["processed", "reports"]

    reports = {p.name.split("-")[-2]: p for p in (inbox / "reports").iterdir()}
    sheet_report = list(csv.DictReader(io.StringIO(reports["confirmation"].read_text("utf-8-sig"))))
    assert "2 rows without DateEntered" in sheet_report[0]["guidance"]
    assert sheet_report[1:] == []
    export_text = reports["reconcile"].read_text("utf-8-sig")
    listed = [
        (r["file"], r["row"], r["column"], r["rule_id"])
        for r in csv.DictReader(io.StringIO(export_text))
        if r["file"]
    ]
    assert listed == [("Client.csv", str(broken + 2), "DOB", "EXPORT-ROW-DATE")]
    assert "4/3/2015" not in export_text

    [event] = [
        e
        for e in entered_events("PT-0003", as_of="2026-07-09", since=started)
        if e["payload"]["as_of"] == "2026-07-09"
    ]
    assert event["resource"]["handoff.partner"] == "demo-partner"
    assert sorted(event["payload"]["intake_ids"]) == ["PT-0002", "PT-0003"]

    # Nothing left: a second run handles nothing and emits nothing.
    again = json.loads(run_cli("confirmations", "--config", config, "--json", env=env).stdout)
    assert again == [
        {"partner": "demo-partner", "items": [], "newly_entered": 0, "left_for_next_pass": 0}
    ]
