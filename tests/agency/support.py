"""A demo data root, the real scanner and claim, and the pipeline (no Prefect), for the
agency-facing tests. Files are claimed the way the ingest flow claims them, including
keeping the agency's file name for its receipt."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from connectors.dropfolder import DropFolderScanner, SettlePolicy, claim
from hmis_handoff import agency_names
from hmis_handoff.config import load_settings
from usecases.handoff import FileOutcome, Handoff

AGENCY = "demo-agency"
#: The synthetic rows are valid as of 2026-03-09; validate as of that afternoon.
NOW = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)


def make_pipeline(root: Path, **env: str) -> Handoff:
    for key, value in env.items():
        os.environ[key] = value
    try:
        settings = load_settings(root / "handoff.toml")
    finally:
        for key in env:
            os.environ.pop(key, None)
    return Handoff(settings, clock=lambda: NOW)


def drop_folder(root: Path) -> Path:
    return root / "agencies" / AGENCY / "drop"


def reports_folder(root: Path) -> Path:
    return root / "agencies" / AGENCY / "reports"


@dataclass(frozen=True)
class Handled:
    outcome: FileOutcome
    receipt: str


def process(pipe: Handoff) -> list[Handled]:
    """Claim every settled file (keeping its name, as the ingest flow does) and hand it off;
    returns each outcome with the text of the HTML report written for it."""
    scanner = DropFolderScanner(pipe.layout.agencies, [AGENCY], SettlePolicy(stable_seconds=0.05))
    handled: list[Handled] = []
    for _ in range(60):
        result = scanner.scan()
        for candidate in result.settled:
            claimed = claim(candidate, pipe.layout.work)
            if claimed is None:
                continue
            reports = pipe.layout.agency_reports(AGENCY)
            agency_names.remember(reports, claimed.claim_id, candidate.path.name)
            outcome = pipe.process_claim(claimed)
            assert outcome is not None
            page = next(
                p for p in reports.glob(f"*_{outcome.file_ref}_*.html") if p.name != "index.html"
            )
            handled.append(Handled(outcome, page.read_text(encoding="utf-8")))
        if not result.pending and not result.settled:
            break
        time.sleep(0.06)
    return handled
