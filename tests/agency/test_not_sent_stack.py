"""A file that sent no row is not "delivered" anywhere: through ``handoff process`` with a
real Prefect server, the run's summary, the ledger (``handoff status``) and the event all
say ``not_sent``; the receipt says nothing was sent and why."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.conftest import api_port, run_cli
from tests.synthetic import make_valid_row, write_sample_csv


def _stored(home: Path, needle: bytes) -> bool:
    return any(needle in p.read_bytes() for p in home.rglob("*") if p.is_file())


def _event_names(resource_id: str) -> set[str]:
    """Names of the events about ``resource_id`` on the session's server."""
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventResourceFilter

    with get_client(sync_client=True) as client:
        page = client.read_events(
            EventFilter(resource=EventResourceFilter(id=[resource_id])), limit=50
        )
    return {e.event for e in page.events if e.resource.id == resource_id}


@pytest.mark.server
def test_consent_only_file_is_not_sent_in_run_status_and_event(
    tmp_path: Path, prefect_api: str
) -> None:
    root = tmp_path / "data"
    run_cli("init", str(root), "--demo", "--port", str(api_port(prefect_api)))
    config = str(root / "handoff.toml")
    rows = [
        make_valid_row(
            IntakeID=f"S000{i}", HouseholdID=f"HS000{i}", SSN=f"70{i}011001",
            ROIConsent="0", ROISignedDate="",
        )
        for i in (1, 2)
    ]  # fmt: skip
    write_sample_csv(root / "agencies" / "demo-agency" / "drop" / "no-consent.csv", rows)

    summary = json.loads(run_cli("process", "--config", config, "--json").stdout)
    assert summary["by_state"] == {"not_sent": 1}

    status = json.loads(run_cli("status", "--config", config, "--json").stdout)
    assert [(f["state"], f["count"]) for f in status["files"]] == [("not_sent", 1)]
    assert {r["state"] for r in status["records"]} == {"not_transmittable"}

    receipt = next((root / "agencies" / "demo-agency" / "reports").glob("*_rejected.html"))
    page = receipt.read_text(encoding="utf-8")
    assert "Nothing was sent" in page and "2 may not be shared (no consent)" in page
    ref = receipt.name.split("_")[1]

    home = Path(os.environ["PREFECT_HOME"])
    needle = f"handoff.file.{ref}".encode()
    deadline = time.monotonic() + 120
    while not _stored(home, needle) and time.monotonic() < deadline:
        time.sleep(1)
    assert _stored(home, needle), "the file's event never reached Prefect"
    assert _stored(home, b"handoff.file.not-sent")
    # The session's server holds other tests' not-sent events too: this file's is not-sent.
    assert _event_names(f"handoff.file.{ref}") == {"handoff.file.not-sent"}
