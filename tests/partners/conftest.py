"""A demo data root with one delivered package, made by the real pipeline (no Prefect)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.dropfolder import DropFolderScanner, SettlePolicy, claim
from hmis_handoff.config import load_settings
from tests.synthetic import make_valid_row, write_sample_csv
from usecases.handoff import FileOutcome, Handoff
from usecases.initialise import initialise

# Monday 2026-07-06, 10:00 in Chicago: the business day after Independence Day observed
# (Saturday 2026-07-04 is observed on Friday 2026-07-03).
PACKAGED_AT = datetime(2026, 7, 6, 15, 0, tzinfo=UTC)
BEFORE_HOLIDAY = "2026-07-02"  # Thursday; the Friday after it is closed
ON_PACKAGING_DAY = "2026-07-06"


@dataclass
class Delivered:
    """A data root, its CoC fingerprint (as printed by init) and the delivered package."""

    root: Path
    fingerprint: str
    package: Path
    outcome: FileOutcome
    rows: list[dict[str, str]]

    @property
    def key(self) -> Path:
        return self.root / "demo-keys" / "demo-partner.key"


def intake_rows() -> list[dict[str, str]]:
    """A household of two before the holiday (accents, leading-zero SSNs) and one later."""

    def dated(day: str, **values: str) -> dict[str, str]:
        dates = dict.fromkeys(
            ("IntakeDate", "EntryDate", "ROISignedDate", "AssessmentDate", "EventDate"), day
        )
        return make_valid_row(**{**dates, **values})

    return [
        dated(
            BEFORE_HOLIDAY, IntakeID="PT-0002", HouseholdID="HH-77", FirstName="Zoë",
            LastName="Ñúñez-Ægir", SSN="013572468",
        ),
        dated(
            BEFORE_HOLIDAY, IntakeID="PT-0001", HouseholdID="HH-77", FirstName="José",
            LastName="O’Examplez", SSN="001234567", RelationshipToHoH="2",
            EnrollmentCoC="", DOB="2015-04-03",
        ),
        dated(
            ON_PACKAGING_DAY, IntakeID="PT-0003", HouseholdID="HH-78", FirstName="Ann",
            LastName="Testperson", SSN="070012345", AssessmentDate="", AssessmentLocation="",
            AssessmentType="", AssessmentLevel="", PrioritizationStatus="",
        ),
    ]  # fmt: skip


def process_all(pipe: Handoff) -> list[FileOutcome]:
    scanner = DropFolderScanner(
        pipe.layout.agencies, ["demo-agency"], SettlePolicy(stable_seconds=0.05)
    )
    outcomes: list[FileOutcome] = []
    for _ in range(40):
        result = scanner.scan()
        for candidate in result.settled:
            claimed = claim(candidate, pipe.layout.work)
            if claimed is not None:
                outcome = pipe.process_claim(claimed)
                assert outcome is not None
                outcomes.append(outcome)
        if not result.pending and not result.settled:
            break
        time.sleep(0.06)
    return outcomes


@pytest.fixture()
def isolated_pins(tmp_path: Path) -> Iterator[Path]:
    """Point the known signers file at an empty temp path (never the user's own)."""
    path = tmp_path / "known_signers"
    old = os.environ.get("HANDOFF_KNOWN_SIGNERS")
    os.environ["HANDOFF_KNOWN_SIGNERS"] = str(path)
    yield path
    if old is None:
        os.environ.pop("HANDOFF_KNOWN_SIGNERS", None)
    else:
        os.environ["HANDOFF_KNOWN_SIGNERS"] = old


@pytest.fixture()
def delivered(tmp_path: Path, isolated_pins: Path) -> Delivered:
    root = tmp_path / "data"
    lines = initialise(root, demo=True)
    [fingerprint] = [
        m.group(1) for line in lines if (m := re.search(r"fingerprint: (SHA256:\S+)", line))
    ]
    rows = intake_rows()
    write_sample_csv(root / "agencies" / "demo-agency" / "drop" / "intake.csv", rows)
    pipe = Handoff(load_settings(root / "handoff.toml"), clock=lambda: PACKAGED_AT)
    try:
        [outcome] = process_all(pipe)
    finally:
        pipe.ledger.close()
    assert outcome.package_id is not None and outcome.rows_sent == 3
    package = root / "partners" / "demo-partner" / "outbox" / f"{outcome.package_id}.age"
    return Delivered(root, fingerprint, package, outcome, rows)
