"""Finding 5 (high): the scale-out recipe delivered intakes twice.

Two workers handing off different files that reuse IntakeIDs both reached the outbox
before the ledger's unique index failed the second ``mark_delivered``. IntakeIDs are now
reserved in the ledger (committed) before packaging: the loser never writes a package.
Worker A is a real child process SIGKILLed right after validation (its reservation is
committed, no package yet); worker B then hands off its file in full; A resumes.
Failing SQL never carries its parameters (``hide_parameters=True``).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from connectors.dropfolder import DropFolderScanner, SettlePolicy, claim, load_claim
from hmis_handoff.ledger import FileState
from hmis_handoff.ledger.models import IntakeFile
from tests.hardening.test_claimed_file_integrity import _crash_at
from tests.pipeline.test_pipeline import drop_rows, make_pipeline, rows


def _claim_named(root: Path, pipe: object, name: str) -> str:
    scanner = DropFolderScanner(
        root / "agencies", ["demo-agency"], SettlePolicy(stable_seconds=0.05)
    )
    for _ in range(40):
        for candidate in scanner.scan().settled:
            if candidate.path.name == name:
                got = claim(candidate, root / "work")
                assert got is not None
                return got.claim_id
        time.sleep(0.06)
    raise AssertionError("not settled")


def test_reused_intake_ids_reach_the_outbox_once(root: Path) -> None:
    pipe = make_pipeline(root)
    first = rows(3, "WORKERA")
    second = rows(3, "WORKERB")  # same IntakeIDs T00001..3, different bytes
    drop_rows(root, first, name="a.csv")
    a_id = _claim_named(root, pipe, "a.csv")
    drop_rows(root, second, name="b.csv")
    b_id = _claim_named(root, pipe, "b.csv")
    a_claim, b_claim = load_claim(pipe.layout.work, a_id), load_claim(pipe.layout.work, b_id)
    assert a_claim is not None and b_claim is not None

    _crash_at(pipe, a_claim, "validated")  # worker A: reserved, then killed
    b = pipe.process_claim(b_claim)  # worker B, in full
    assert b is not None
    assert (b.state, b.reject_rule, b.rows_sent) == (FileState.REJECTED, "FILE-NO-VALID-ROWS", 0)
    a = pipe.process_claim(a_claim)  # worker A resumes
    assert a is not None and (a.state, a.rows_sent) == (FileState.DELIVERED, 3)

    outbox = root / "partners" / "demo-partner" / "outbox"
    assert len(list(outbox.glob("*.age"))) == 1
    report = "".join(
        p.read_text(encoding="utf-8")
        for p in (root / "agencies" / "demo-agency" / "reports").glob("*.csv")
    )
    assert "INTAKE-ID-ALREADY-SENT" in report and "T00001" not in report


def test_rejected_file_releases_its_reservations(root: Path) -> None:
    pipe = make_pipeline(root)
    bad = rows(2, "RELEASE")
    for row in bad:
        row["SubmittingAgencyID"] = "someone-else"  # the whole file is another agency's
    drop_rows(root, bad, name="bad.csv")
    bad_id = _claim_named(root, pipe, "bad.csv")
    bad_claim = load_claim(pipe.layout.work, bad_id)
    assert bad_claim is not None
    rejected = pipe.process_claim(bad_claim)
    assert rejected is not None and rejected.state == FileState.REJECTED
    drop_rows(root, rows(2, "RESENT"), name="good.csv")
    good_id = _claim_named(root, pipe, "good.csv")
    good_claim = load_claim(pipe.layout.work, good_id)
    assert good_claim is not None
    delivered = pipe.process_claim(good_claim)
    assert delivered is not None and (delivered.state, delivered.rows_sent) == (
        FileState.DELIVERED,
        2,
    )


def test_failing_sql_never_carries_its_parameters(root: Path) -> None:
    pipe = make_pipeline(root)
    marker = "ZQXSQLPARAMMARKER"
    values = {
        "claim_id": marker,
        "sha256": "a" * 64,
        "agency_id": "demo-agency",
        "partner_id": "demo-partner",
        "state": "received",
        "received_at": pipe.clock(),
        "updated_at": pipe.clock(),
    }
    with pipe.ledger.engine.begin() as connection:
        connection.execute(insert(IntakeFile), values)
    with pytest.raises(SAIntegrityError) as caught, pipe.ledger.engine.begin() as connection:
        connection.execute(insert(IntakeFile), values)
    assert marker not in str(caught.value)
    assert "a" * 64 not in str(caught.value)
