"""The confirmations, daily-digest and deadline-check flows once, against a real Prefect server.

What only a server shows: the ``handoff.record.entered`` event as stored, the ``daily-digest``
and ``confirmations-inbox`` artifacts as stored, and the e-mails the flows send (a real SMTP
server on loopback). Every stored thing is searched for the planted client markers.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.events.filters import EventFilter, EventNameFilter
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

from hmis_handoff.layout import Layout
from hmis_handoff.ledger import Ledger
from tests.reconcile.conftest import SmtpSink
from tests.reconcile.support import AGENCY as DEMO_AGENCY
from tests.reconcile.support import (
    PARTNER,
    PEOPLE,
    XIA,
    YAN,
    ZED,
    Export,
    deliver,
    make_root,
    write_confirmation,
)

INTAKE = date(2026, 3, 2)


def _entered_events(
    intake_id: str, since: datetime, timeout: float = 120.0
) -> list[dict[str, Any]]:
    """The stored ``handoff.record.entered`` events, once this test's own (about
    ``intake_id``, emitted after ``since``) is among them: the session's server holds other
    tests' events too."""
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            page = client.read_events(
                EventFilter(event=EventNameFilter(name=["handoff.record.entered"])), limit=50
            )
            found = [e.model_dump(mode="json") for e in page.events]
            if any(
                intake_id in e["payload"].get("intake_ids", [])
                and e["resource"].get("handoff.partner") == PARTNER
                and datetime.fromisoformat(e["occurred"]) >= since
                for e in found
            ):
                return found
            if time.monotonic() > deadline:
                raise AssertionError("handoff.record.entered never reached the server")
            time.sleep(0.5)


def _artifact(key: str, since: datetime | None = None) -> str:
    """The data of every stored ``key`` artifact (created after ``since``, when given: the
    session's server holds other tests' artifacts too)."""
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
        )
    if since is not None:
        artifacts = [a for a in artifacts if a.created is not None and a.created >= since]
    assert artifacts, key
    return json.dumps([a.data for a in artifacts])


@pytest.mark.server
def test_flows_against_a_real_server(
    prefect_api: str, tmp_path: Path, smtp_server: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = datetime.now(UTC)  # the session server also holds other tests' events
    settings = make_root(tmp_path, smtp=(smtp_server.host, smtp_server.port))
    monkeypatch.setenv("HANDOFF_CONFIG", str(settings.config_path))
    ledger = Ledger(settings.ledger_url)
    deliver(settings, ledger, [("I-1", ZED, INTAKE), ("I-2", YAN, INTAKE), ("I-3", XIA, INTAKE)])
    ledger.close()
    inbox = Layout(settings.root).partner_confirmations(PARTNER)
    write_confirmation(
        inbox / "Zebulonmark.csv",
        [("I-1", "", "", "2026-03-04")],
        ("IntakeID", "AgencyID", "PersonalID", "DateEntered"),
    )
    export = Export(hash_status=1, fy="FY2024")
    export.client("P-2", YAN)
    export.event("P-2", "2026-03-02", "2026-03-06 09:00:00")
    export.write_zip(inbox / "Vorplanted.zip")

    from flows.confirmations import confirmations
    from flows.deadline_check import deadline_check
    from flows.digest import daily_digest

    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        passes = confirmations()
        digest = daily_digest(as_of="2026-03-10")
        checked = deadline_check(as_of="2026-03-10")
    # Send queued logs and events while the server is up (else the exit waits on retries).
    APILogWorker.drain_all(timeout=15, at_exit=False)
    EventsWorker.drain_all(timeout=15, at_exit=False)

    mine = next(p for p in passes if p["partner"] == PARTNER)
    assert mine["confirmation_files"] == 1 and mine["exports"] == 1
    assert mine["newly_entered"] == 2 and mine["refused"] == []
    assert digest["totals"]["entered_on_time"] == 1 and digest["totals"]["entered_late"] == 1
    assert digest["channels"] == {"email": "sent", "webhook": "off"}
    assert checked["counts"]["overdue"] == 1

    events = _entered_events("I-2", since=started)
    (event,) = [
        e
        for e in events
        if e["resource"]["handoff.partner"] == PARTNER
        and datetime.fromisoformat(e["occurred"]) >= started
    ]
    assert event["payload"]["intake_ids"] == ["I-1", "I-2"]
    assert event["resource"]["handoff.agency"] == DEMO_AGENCY
    digest_artifact = _artifact("daily-digest")  # all of them: searched for markers below
    assert "demo-agency/I-3" in _artifact("daily-digest", since=started)
    inbox_artifact = _artifact("confirmations-inbox")

    subjects = [m["Subject"] for m in smtp_server.messages]
    assert subjects == [
        "HMIS Handoff 2026-03-10: 1 overdue, 0 due soon",
        "HMIS Handoff: 1 intake(s) overdue for HMIS entry as of 2026-03-10",
    ]
    stored = [json.dumps(events), digest_artifact, inbox_artifact,
              *(m.as_string() for m in smtp_server.messages)]  # fmt: skip
    for person in PEOPLE:
        for marker in person.markers:
            assert all(marker not in blob for blob in stored), marker
    assert all("Zebulonmark" not in blob and "Vorplanted" not in blob for blob in stored)


@pytest.mark.parametrize(
    ("name", "flow_name", "cron"),
    [("confirmations", "confirmations", "*/15 8-17 * * 1-5"),
     ("daily-digest", "daily-digest", "30 7 * * 1-5")],
)  # fmt: skip
def test_deployments_are_declared(name: str, flow_name: str, cron: str) -> None:
    import importlib

    import yaml  # type: ignore[import-untyped]
    from prefect.schedules import Cron

    spec = yaml.safe_load((Path(__file__).resolve().parents[2] / "prefect.yaml").read_text())
    (item,) = [d for d in spec["deployments"] if d["name"] == name]
    module_path, attribute = item["entrypoint"].split(":")
    flow_obj = getattr(importlib.import_module(module_path[:-3].replace("/", ".")), attribute)
    assert flow_obj.name == flow_name
    (schedule,) = item["schedules"]
    assert schedule == {"cron": cron, "timezone": "America/Chicago"}
    Cron(schedule["cron"], timezone=schedule["timezone"])
    assert item["work_pool"]["name"] == "handoff"
