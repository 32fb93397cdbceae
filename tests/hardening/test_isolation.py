"""Finding 2 (critical): one bad claim must not block every agency, forever.

A claim that raises is counted and skipped; every other claim proceeds in the same run;
after a bounded number of attempts the failing claim is answered FILE-PROCESSING-FAILED,
kept only encrypted in quarantine, and its plaintext leaves work/. Covered through the
real CLI (``handoff process`` on a real Prefect server) for a claim left for an agency
later removed from handoff.toml, and in the core for a claim whose answer itself fails.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from connectors.dropfolder import DropFolderScanner, SettlePolicy, claim, pending_claims
from hmis_handoff.ledger import FileState
from tests.conftest import api_port, run_cli
from tests.pipeline.test_pipeline import drop_rows, make_pipeline, rows
from usecases.isolation import MAX_ATTEMPTS, hand_off_guarded

MARKER = "ZQXISOLATEDMARKER"


def _claim_all(agencies_root: Path, agency: str, work: Path) -> list[str]:
    scanner = DropFolderScanner(agencies_root, [agency], SettlePolicy(stable_seconds=0.05))
    claimed: list[str] = []
    for _ in range(40):
        result = scanner.scan()
        for candidate in result.settled:
            got = claim(candidate, work)
            if got is not None:
                claimed.append(got.claim_id)
        if claimed and not result.pending:
            return claimed
        time.sleep(0.06)
    raise AssertionError("nothing settled")


@pytest.mark.server
def test_claim_of_a_removed_agency_does_not_block_the_others(
    tmp_path: Path, prefect_api: str
) -> None:
    root = tmp_path / "x"
    run_cli("init", str(root), "--demo", "--port", str(api_port(prefect_api)))
    config = str(root / "handoff.toml")
    gone = root / "agencies" / "gone-agency"
    (gone / "drop").mkdir(parents=True, mode=0o700)
    (gone / "reports").mkdir(mode=0o700)
    drop_rows(root, rows(1, MARKER), name="gone.csv")
    shutil.move(root / "agencies" / "demo-agency" / "drop" / "gone.csv", gone / "drop" / "g.csv")
    (gone_claim,) = _claim_all(root / "agencies", "gone-agency", root / "work")
    shutil.copyfile(
        root / "samples" / "demo-intake.csv",
        root / "agencies" / "demo-agency" / "drop" / "demo-intake.csv",
    )
    for attempt in range(1, MAX_ATTEMPTS + 1):
        result = run_cli("process", "--config", config, "--json")
        summary = json.loads(result.stdout)
        assert MARKER not in result.stdout + result.stderr
        if attempt == 1:
            assert summary["by_state"] == {"delivered": 1}  # the good file was not blocked
        if attempt < MAX_ATTEMPTS:
            assert summary["claims_failed"] == 1
            assert any(p.name.startswith(gone_claim) for p in (root / "work").iterdir())
    assert summary["claims_failed"] == 0
    assert list((root / "work").iterdir()) == []
    quarantine = sorted(p.name for p in (root / "quarantine").iterdir())
    assert any(name.endswith(".quarantined.age") for name in quarantine), quarantine
    assert not any(name.endswith(".quarantined") for name in quarantine)
    reports = "".join(p.read_text(encoding="utf-8") for p in (gone / "reports").glob("*.csv"))
    assert "FILE-PROCESSING-FAILED" in reports and MARKER not in reports
    assert len(list((root / "partners" / "demo-partner" / "outbox").glob("*.age"))) == 1


def test_claim_whose_answer_fails_is_given_up_and_others_proceed(tmp_path: Path) -> None:
    from usecases.initialise import initialise

    root = tmp_path / "data"
    initialise(root, demo=True)
    pipe = make_pipeline(root)
    broken = rows(2, MARKER)
    for row in broken:
        row["DOBDataQuality"] = ""  # every row has an error: the file is turned back
    drop_rows(root, broken, name="first.csv")
    (bad,) = _claim_all(pipe.layout.agencies, "demo-agency", pipe.layout.work)
    reports = root / "agencies" / "demo-agency" / "reports"
    shutil.rmtree(reports)
    os.symlink("../../state", reports)  # every answer to this agency now fails
    for attempt in range(1, MAX_ATTEMPTS + 1):
        (claimed,) = [c for c in pending_claims(pipe.layout.work) if c.claim_id == bad]
        result = hand_off_guarded(pipe, claimed)
        assert result.failed == (attempt < MAX_ATTEMPTS)
    assert pending_claims(pipe.layout.work) == []
    assert [p.name for p in pipe.layout.work.iterdir() if not p.name.endswith(".lock")] == []
    view = pipe.ledger.file_by_claim(bad)
    assert view is not None and view.state == FileState.REJECTED
    assert view.reject_rule == "FILE-PROCESSING-FAILED"
    assert any(p.name.endswith(".quarantined.age") for p in pipe.layout.quarantine.iterdir())
    # The agency fixes its folder; its next file flows normally.
    os.unlink(reports)
    reports.mkdir(mode=0o700)
    drop_rows(root, rows(1, "NEXT"), name="next.csv")
    (good,) = _claim_all(pipe.layout.agencies, "demo-agency", pipe.layout.work)
    (claimed,) = pending_claims(pipe.layout.work)
    assert claimed.claim_id == good
    outcome = hand_off_guarded(pipe, claimed).outcome
    assert outcome is not None and outcome.state == FileState.DELIVERED


def test_claim_with_a_package_in_the_outbox_is_never_rejected(tmp_path: Path) -> None:
    from tests.hardening.test_claimed_file_integrity import _crash_at
    from usecases.initialise import initialise

    root = tmp_path / "data"
    initialise(root, demo=True)
    pipe = make_pipeline(root)
    drop_rows(root, rows(2, MARKER), name="packaged.csv")
    (claim_id,) = _claim_all(pipe.layout.agencies, "demo-agency", pipe.layout.work)
    (claimed,) = pending_claims(pipe.layout.work)
    _crash_at(pipe, claimed, "packaged")  # the package is in the outbox, not yet delivered
    reports = root / "agencies" / "demo-agency" / "reports"
    shutil.rmtree(reports)
    os.symlink("../../state", reports)
    for _ in range(MAX_ATTEMPTS + 1):
        assert hand_off_guarded(pipe, claimed).failed
    view = pipe.ledger.file_by_claim(claim_id)
    assert view is not None and view.state == FileState.VALIDATED  # not contradicted
    os.unlink(reports)
    reports.mkdir(mode=0o700)
    outcome = hand_off_guarded(pipe, claimed).outcome
    assert outcome is not None and outcome.state == FileState.DELIVERED
    assert len(list((root / "partners" / "demo-partner" / "outbox").glob("*.age"))) == 1
