"""Production validation goes through pandera: a rule declared only as a pandera check
(``NAME-DIGITS-ONLY``, in ``schemas/intake_schema.py``) is enforced from a dropped file to
the agency's report and the ledger, and the partner never gets that row."""

from __future__ import annotations

from pathlib import Path

import pytest

from hmis_handoff.crypto.age import decrypt_file
from hmis_handoff.ledger import FileState
from schemas.intake_schema import intake_schema
from schemas.validate import ValidationContext
from tests.packages import intake_text
from tests.pipeline.test_pipeline import drop_rows, make_pipeline, partner_key, rows, run_all
from tests.security.helpers import report_rows
from tests.synthetic import TODAY
from usecases.initialise import initialise


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    initialise(data, demo=True)
    return data


def test_a_pandera_only_rule_is_enforced_from_drop_to_report(root: Path, tmp_path: Path) -> None:
    context = ValidationContext(agency_id="demo-agency", today=TODAY)
    assert "NAME-DIGITS-ONLY" in {c.name for c in intake_schema("FY2026", context).checks}
    pipe = make_pipeline(root)
    data = rows(3, "PAN")
    data[1]["LastName"] = "078051120"  # an SSN typed into the name column
    drop_rows(root, data)
    (outcome,), _ = run_all(pipe)
    assert outcome.state == FileState.DELIVERED
    assert (outcome.rows_sent, outcome.rows_held) == (2, 1)
    found = [
        (r["row"], r["column"], r["rule_id"])
        for r in report_rows(root)
        if r["rule_id"] == "NAME-DIGITS-ONLY"
    ]
    assert found == [("3", "LastName", "NAME-DIGITS-ONLY")]
    report_text = "".join(
        p.read_text(encoding="utf-8") for p in (root / "agencies/demo-agency/reports").iterdir()
    )
    assert "078051120" not in report_text
    package = root / "partners" / "demo-partner" / "outbox" / f"{outcome.package_id}.age"
    plain = tmp_path / "plain.csv"
    decrypt_file(package, plain, partner_key(root))  # type: ignore[arg-type]
    sent = intake_text(plain)
    assert "T00001" in sent and "T00003" in sent
    assert "T00002" not in sent and "078051120" not in sent
