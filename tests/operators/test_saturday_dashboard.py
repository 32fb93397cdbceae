"""`handoff up` on a fresh data root on a Saturday night has its deadline dashboard at once.

The deadline check is scheduled in business hours only, so before issue #15 nothing showed
until Monday 08:00. The clock is moved with HANDOFF_NOW (read by hmis_handoff.clock),
not by touching the machine.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.stack.prefect_server import free_port
from tests.stack.test_up import UI_LINE, Stack

SATURDAY_NIGHT = "2026-12-05T22:30:00-06:00"  # Saturday, 22:30 in America/Chicago
DASHBOARD_KEYS = ("overdue-records", "due-soon-records", "deadline-summary", "runbook")


def _artifacts(api: str, keys: tuple[str, ...]) -> dict[str, dict[str, object]]:
    body = json.dumps({"artifacts": {"key": {"any_": list(keys)}}}).encode()
    request = urllib.request.Request(
        f"{api}/artifacts/filter", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        found = json.loads(response.read())
    return {a["key"]: a for a in found}


@pytest.fixture()
def saturday_stack(tmp_path: Path) -> Iterator[Stack]:
    port = free_port()
    root = tmp_path / "data"
    run_cli("init", str(root), "--demo", "--port", str(port))
    os.environ["HANDOFF_NOW"] = SATURDAY_NIGHT
    try:
        running = Stack(root, port)
    finally:
        del os.environ["HANDOFF_NOW"]
    running.started = time.monotonic()  # type: ignore[attr-defined]
    try:
        yield running
    finally:
        if running.proc.poll() is None:
            try:
                running.stop()
            except subprocess.TimeoutExpired:
                os.killpg(running.proc.pid, signal.SIGKILL)


@pytest.mark.server
def test_saturday_night_start_shows_the_deadline_dashboard_within_a_minute(
    saturday_stack: Stack,
) -> None:
    stack = saturday_stack
    # Waiting longer for the line changes nothing below: the dashboard is still due 60 s
    # after the start; a late line then fails with what was found, not "no line".
    line = stack.wait_for_line(UI_LINE, timeout=240)
    api = line.split(UI_LINE, 1)[1].strip() + "/api"
    deadline = stack.started + 60  # type: ignore[attr-defined]
    found: dict[str, dict[str, object]] = {}
    while time.monotonic() < deadline:
        found = _artifacts(api, DASHBOARD_KEYS)
        if set(found) == set(DASHBOARD_KEYS):
            break
        time.sleep(1)
    elapsed = time.monotonic() - stack.started  # type: ignore[attr-defined]
    assert set(found) == set(DASHBOARD_KEYS), f"after {elapsed:.0f} s only {sorted(found)}"
    print(f"deadline dashboard found {elapsed:.1f} s after `handoff up` started")

    overdue = str(found["overdue-records"]["data"])
    assert "# Overdue records as of 2026-12-05" in overdue  # the CoC's Saturday, not UTC's Sunday
    assert "0 record(s)" in overdue and "\n\nnone\n\n" in overdue  # "none", no placeholder row
    assert "CST" in overdue  # refreshed at a time in the CoC's zone
    assert "none" in str(found["due-soon-records"]["data"])
    summary = str(found["deadline-summary"]["data"])
    assert "| overdue | 0 |" in summary and "| pending | 0 |" in summary
    runbook = str(found["runbook"]["data"])
    assert "No notification channel is configured" in runbook
    output = "".join(stack.output)
    assert "WARNING: no notification channel is configured" in output
    assert "Automations applied: 4" in output
