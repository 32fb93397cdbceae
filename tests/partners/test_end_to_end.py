"""A data partner's week, end to end, against a real Prefect server.

The CoC runs `handoff init`, an agency drops a file, `handoff process` packages it on a
Monday after a holiday; the partner decrypts with the fingerprint read to them (`-o x.xlsx`,
worklist, confirmation sheet), fills the sheet with a US date and an Excel date cell, and
drops it in its confirmations folder on a Saturday (the clock moved with HANDOFF_NOW). The
watcher of `handoff up` picks it up within one cycle; the records are entered and the
`handoff.record.entered` event reaches the server. `handoff confirm --entered-on today`
emits the same event.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from prefect.client.orchestration import get_client
from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter

from flows.watch import CONFIRMATION_SWEEP_SECONDS, start_confirmation_watcher
from hmis_handoff.config import load_settings
from hmis_handoff.ledger import Ledger, RecordState
from hmis_handoff.worklist import read_worklist
from tests.conftest import api_port, run_cli
from tests.partners.conftest import Delivered, intake_rows
from tests.synthetic import write_sample_csv

MONDAY = "2026-07-06T10:00:00-05:00"
SATURDAY = "2026-07-11T10:00:00-05:00"


def entered_events(
    intake_id: str, as_of: str, since: datetime, timeout: float = 120.0
) -> list[dict[str, Any]]:
    """Poll the server for ``handoff.record.entered`` events naming ``intake_id``, dated
    ``as_of`` and emitted after ``since``: the session's server also holds other tests'
    events (the same demo ids, and more than one page of them)."""
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            page = client.read_events(
                EventFilter(
                    event=EventNameFilter(name=["handoff.record.entered"]),
                    occurred=EventOccurredFilter(since=since),
                ),
                limit=50,
            )
            found = [e.model_dump(mode="json") for e in page.events]
            mine = [
                e
                for e in found
                if intake_id in e["payload"].get("intake_ids", [])
                and e["payload"].get("as_of") == as_of
            ]
            if mine:
                return mine
            if time.monotonic() > deadline:
                raise AssertionError("handoff.record.entered never reached the server")
            time.sleep(0.5)


def entered(config: Path) -> dict[str, date | None]:
    ledger = Ledger(load_settings(config).ledger_url)
    try:
        return {
            r.intake_id: r.entered_on for r in ledger.records() if r.state == RecordState.ENTERED
        }
    finally:
        ledger.close()


@pytest.mark.server
def test_package_to_confirmation_on_a_saturday(
    prefect_api: str, tmp_path: Path, isolated_pins: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = datetime.now(UTC) - timedelta(seconds=5)  # events of this test come later
    root = tmp_path / "data"
    init = run_cli("init", str(root), "--demo", "--port", str(api_port(prefect_api))).stdout
    fingerprint = re.search(r"fingerprint: (SHA256:\S+)", init)
    assert fingerprint, init
    config = root / "handoff.toml"
    rows = intake_rows()
    write_sample_csv(root / "agencies" / "demo-agency" / "drop" / "intake.csv", rows)
    run_cli("process", "--config", str(config), env={"HANDOFF_NOW": MONDAY})
    [package] = sorted((root / "partners" / "demo-partner" / "outbox").glob("*.age"))

    # The partner: its own folder, the key, the fingerprint read over the phone.
    partner = tmp_path / "partner"
    partner.mkdir()
    xlsx, worklist, sheet = partner / "x.xlsx", partner / "worklist.csv", partner / "sheet.xlsx"
    printed = run_cli(
        "decrypt", str(package), "-i", str(root / "demo-keys" / "demo-partner.key"),
        "--signer", fingerprint.group(1), "-o", str(xlsx), "--worklist", str(worklist),
        "--confirmation-sheet", str(sheet),
    ).stdout  # fmt: skip
    assert f"verified: signed by the CoC key {fingerprint.group(1)}" in printed
    table = [list(r) for r in openpyxl.load_workbook(xlsx).worksheets[0].values]
    header = table[0]
    by_id = {r[header.index("IntakeID")]: r for r in table[1:]}
    for sent in rows:
        got = by_id[sent["IntakeID"]]
        assert got[header.index("SSN")] == sent["SSN"]  # leading zeros kept
        assert got[header.index("FirstName")] == sent["FirstName"]  # Zoë, José
        assert got[header.index("LastName")] == sent["LastName"]
    due = {r.intake_id: r.due_date for r in read_worklist(worklist.read_bytes())}
    # Thursday 07/02 before Independence Day observed (Friday 07/03): due Wednesday 07/08.
    assert due == {"PT-0002": date(2026, 7, 8), "PT-0001": date(2026, 7, 8),
                   "PT-0003": date(2026, 7, 9)}  # fmt: skip
    assert "Wed 07/08/2026" in printed

    # Fill the generated sheet: a typed US date, and an Excel date cell.
    book = openpyxl.load_workbook(sheet)
    ws = book.worksheets[0]
    assert [c.value for c in ws[1]] == ["IntakeID", "AgencyID", "PersonalID", "DateEntered"]
    ids = [ws.cell(row=r, column=1).value for r in range(2, ws.max_row + 1)]
    assert sorted(ids) == sorted(r["IntakeID"] for r in rows)
    ws.cell(row=2, column=4).value = "07/10/2026"
    ws.cell(row=3, column=4).value = "7/9/2026"
    ws.cell(row=4, column=4).value = datetime(2026, 7, 10)
    book.save(partner / "filled.xlsx")

    monkeypatch.setenv("HANDOFF_CONFIG", str(config))
    monkeypatch.setenv("HANDOFF_NOW", SATURDAY)
    settings = load_settings(config)
    stop = threading.Event()
    watcher = start_confirmation_watcher(settings, stop)
    try:
        time.sleep(1.0)  # the watcher's first sweep (an empty folder) is done
        inbox = root / "partners" / "demo-partner" / "confirmations"
        dropped = time.monotonic()
        shutil.copy(partner / "filled.xlsx", inbox / "confirmations-week-28.xlsx")
        while (
            len(entered(config)) < 3 and time.monotonic() - dropped < 2 * CONFIRMATION_SWEEP_SECONDS
        ):
            time.sleep(0.25)
        took = time.monotonic() - dropped
    finally:
        stop.set()
        watcher.join(timeout=30)
    assert entered(config) == {
        ids[0]: date(2026, 7, 10),
        ids[1]: date(2026, 7, 9),
        ids[2]: date(2026, 7, 10),
    }
    assert took < CONFIRMATION_SWEEP_SECONDS, f"picked up after {took:.1f} s"
    print(f"confirmation picked up and applied {took:.1f} s after the drop")
    assert entered_events(ids[0], as_of="2026-07-11", since=started)  # Saturday's date


@pytest.mark.server
def test_cli_confirm_today_emits_the_same_event(prefect_api: str, delivered: Delivered) -> None:
    started = datetime.now(UTC) - timedelta(seconds=5)  # events of this test come later
    env = {
        "HANDOFF_PREFECT__PORT": str(api_port(prefect_api)),
        "HANDOFF_NOW": "2026-07-07T16:00:00-05:00",
    }
    config = str(delivered.root / "handoff.toml")
    out = run_cli("confirm", "PT-0003", "--entered-on", "today", "--config", config, env=env)
    assert "confirmed: PT-0003 (demo-agency) entered 07/07/2026" in out.stdout
    assert "Still processing items" not in out.stderr  # Prefect's drain log, not for partners
    out = run_cli("confirm", "PT-0002", "--entered-on", "07/06/2026", "--config", config, env=env)
    assert "entered 07/06/2026" in out.stdout
    assert entered(delivered.root / "handoff.toml") == {
        "PT-0003": date(2026, 7, 7), "PT-0002": date(2026, 7, 6)
    }  # fmt: skip
    # The server is shared by the session: pick this test's event by its date.
    [event] = [
        e
        for e in entered_events("PT-0003", as_of="2026-07-07", since=started)
        if e["payload"]["as_of"] == "2026-07-07"
    ]
    assert event["resource"]["handoff.partner"] == "demo-partner"
    assert event["resource"]["handoff.agency"] == "demo-agency"
    assert event["payload"]["intake_ids"] == ["PT-0003"]
