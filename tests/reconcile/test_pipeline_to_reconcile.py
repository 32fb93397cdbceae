"""From drop to reconciled: the match keys the pipeline stores are the ones that reconcile.

The other reconcile tests write ledger rows directly. Here a file goes through the real
pipeline (the same core calls the ingest flow makes: recover, scan, claim, hand off), the
partner decrypts the package with its own key after verifying the CoC's signature, builds
an HMIS CSV export from exactly the rows it received (each client entered the day after
intake), drops it in its confirmations folder, and reconciliation must mark every
delivered record entered, on time.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

from hmis_handoff.config import load_settings
from hmis_handoff.crypto.age import parse_identities_file
from hmis_handoff.crypto.package import verify_and_decrypt
from hmis_handoff.crypto.signing import VerifyKey
from hmis_handoff.deadlines import deadline_report
from hmis_handoff.layout import Layout
from hmis_handoff.ledger import FileState, Ledger
from tests.crash.driver import run_once
from tests.crash.lab import make_root
from tests.packages import intake_text
from tests.reconcile.support import Export, Person
from tests.synthetic import make_valid_frame, write_sample_csv
from usecases.partner_inbox import process_inbox

AGENCY, PARTNER = "demo-agency", "demo-partner"
ROWS = 6


def test_a_delivered_file_reconciles_every_record(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    frame = make_valid_frame(ROWS)
    write_sample_csv(root / "agencies" / AGENCY / "drop" / "intake.csv", frame)
    assert run_once(root, time_limit=120) == 0
    settings = load_settings(root / "handoff.toml")

    # The partner's side: verify and decrypt the one package with its own key.
    [package] = sorted((root / "partners" / PARTNER / "outbox").glob("*.age"))
    plain = tmp_path / "received.csv"
    verify_and_decrypt(
        package,
        plain,
        identities=parse_identities_file(root / "demo-keys" / f"{PARTNER}.key"),
        trusted_signers=[VerifyKey.parse((root / "state" / "signing.pub").read_text().strip())],
    )
    received = list(csv.DictReader(io.StringIO(intake_text(plain), newline="")))
    assert len(received) == ROWS

    # It enters each client into HMIS the day after intake and exports what it entered.
    export = Export(hash_status=1)
    for number, row in enumerate(received, start=1):
        personal_id = f"HMIS-{number:04d}"
        export.client(
            personal_id, Person(row["FirstName"], row["LastName"], row["DOB"], row["SSN"])
        )
        entered = date.fromisoformat(row["IntakeDate"]).replace(day=3)
        export.enrollment(personal_id, row["IntakeDate"], f"{entered} 10:00:00")
    inbox = Layout(settings.root).partner_confirmations(PARTNER)
    export.write_zip(inbox / "export.zip")

    ledger = Ledger(settings.ledger_url)
    try:
        [delivered] = ledger.files()
        assert delivered.state == FileState.DELIVERED and delivered.rows_sent == ROWS
        tuesday = datetime(2026, 3, 10, 8, 0, tzinfo=settings.tz)
        outcome = process_inbox(settings, PARTNER, ledger=ledger, now=tuesday, settle_seconds=0)
        assert outcome.newly_entered() == {AGENCY: sorted(r["IntakeID"] for r in received)}
        rows = deadline_report(settings, as_of=date(2026, 3, 10), ledger=ledger)
    finally:
        ledger.close()
    assert {r.intake_id: r.state for r in rows} == {
        r["IntakeID"]: "entered_on_time" for r in received
    }
    assert {r.entered_on for r in rows} == {date(2026, 3, 3)}
