"""Format-1 packages (a flat intake CSV, no payload zip) made before this release still
decrypt, to CSV with a BOM or to text XLSX; asking for a worklist says why there is none."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import openpyxl

from hmis_handoff.config import load_settings
from hmis_handoff.crypto.age import parse_recipient
from hmis_handoff.crypto.package import FORMAT, write_package
from hmis_handoff.crypto.signing import SigningKey
from hmis_handoff.signers import fingerprint_of
from tests.conftest import run_cli
from tests.partners.conftest import Delivered


def test_a_format_1_package_still_decrypts(delivered: Delivered, tmp_path: Path) -> None:
    root = delivered.root
    partner = load_settings(root / "handoff.toml").partner("demo-partner")
    plain = tmp_path / "old.csv"
    plain.write_text("IntakeID,SSN,FirstName\r\nOLD-1,001234567,Zoë\r\n", encoding="utf-8")
    outbox = tmp_path / "outbox"
    signing = SigningKey.load(root / "state" / "signing.key")
    paths = write_package(
        plain, outbox, package_id="20260101-old", agency_id="demo-agency",
        partner_id="demo-partner", record_count=1, schema_version="hmis-intake-csv.FY2026",
        recipients=[parse_recipient(r) for r in partner.recipients], signing_key=signing,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    assert paths.package_manifest.format == FORMAT and paths.package_manifest.payload is None
    pin = ("--signer", fingerprint_of(signing.verify_key))
    args = ("decrypt", str(paths.age), "-i", str(delivered.key), *pin)
    csv_out, xlsx_out = tmp_path / "old-out.csv", tmp_path / "old-out.xlsx"
    run_cli(*args, "-o", str(csv_out))
    assert csv_out.read_bytes() == b"\xef\xbb\xbf" + plain.read_bytes()
    text = run_cli(*args, "-o", str(xlsx_out), "--worklist", str(tmp_path / "w.csv")).stdout
    assert "older format 1" in text and not (tmp_path / "w.csv").exists()
    rows = list(openpyxl.load_workbook(xlsx_out).worksheets[0].values)
    assert rows == [("IntakeID", "SSN", "FirstName"), ("OLD-1", "001234567", "Zoë")]
