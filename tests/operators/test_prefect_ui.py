"""The operator's view, end to end, in a real browser, with a canary sweep afterwards.

Starts ``handoff up`` on loopback (real Prefect server, served deployments, watcher) with a
real loopback webhook as the notification channel; drops a good, a partly bad and a refused
file one at a time; runs the deadline check for an as-of date that makes the good rows
overdue; then drives the Prefect UI with Playwright on Debian's Chromium (no browser
download) and checks what an operator must see: named runs, tags, the Refused state, the
dashboard artifacts with the overdue ids and due dates, the automations. Screenshots go to
docs/operators/ (the README shows them).

Canary: every identifying cell and every file name is a unique marker; none may appear in
any UI page text, Prefect's database, logs or result storage (every file under its home),
the stack's console, or a notification payload.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT, run_cli
from tests.operators.canary_data import AS_OF, Markers, drop, operator_files
from tests.stack.prefect_server import free_port
from tests.stack.test_up import UI_LINE, Stack

CHROMIUM = "/usr/bin/chromium"
SHOTS = REPO_ROOT / "docs" / "operators"
AUTOMATIONS = (
    "handoff: records overdue",
    "handoff: file refused",
    "handoff: flow run failed or crashed",
    "handoff: deployment missed its schedule",
)
DASHBOARD = (
    "overdue-records",
    "due-soon-records",
    "deadline-summary",
    "intake-summary",
    "timeliness-trend",
    "runbook",
)


class Hook:
    """A loopback HTTP endpoint that keeps every POSTed body (the notification channel)."""

    def __init__(self) -> None:
        self.bodies: list[str] = []
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length", "0"))
                hook.bodies.append(self.rfile.read(size).decode("utf-8", "replace"))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notify"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _api(api: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One API call; a 503 (the server's SQLite busy under load) is retried, as Prefect's own
    client retries it, a few times with a growing pause."""
    data = None if body is None else json.dumps(body).encode()
    for attempt in range(6):
        request = urllib.request.Request(
            f"{api}{path}", data=data, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            if error.code != 503 or attempt == 5:
                raise
            time.sleep(1.0 + attempt)
    raise AssertionError("unreachable")


def _wait(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _runs(api: str, **flow_runs: Any) -> list[dict[str, Any]]:
    return list(_api(api, "/flow_runs/filter", {"flow_runs": flow_runs, "limit": 200}))


@pytest.fixture()
def operator_stack(tmp_path: Path) -> Iterator[tuple[Stack, Hook]]:
    hook = Hook()
    port = free_port()
    root = tmp_path / "data"
    run_cli("init", str(root), "--demo", "--port", str(port))
    os.environ["HANDOFF_NOTIFICATIONS__WEBHOOK_URL"] = hook.url
    try:
        running = Stack(root, port)
    finally:
        del os.environ["HANDOFF_NOTIFICATIONS__WEBHOOK_URL"]
    try:
        yield running, hook
    finally:
        if running.proc.poll() is None:
            try:
                running.stop()
            except subprocess.TimeoutExpired:
                os.killpg(running.proc.pid, signal.SIGKILL)
        hook.server.shutdown()
        hook.server.server_close()


@pytest.mark.browser
@pytest.mark.server
def test_operator_sees_the_whole_story_in_the_prefect_ui(
    operator_stack: tuple[Stack, Hook],
) -> None:
    from playwright.sync_api import sync_playwright

    stack, hook = operator_stack
    ui = stack.wait_for_line(UI_LINE, timeout=240).split(UI_LINE, 1)[1].strip()
    api = f"{ui}/api"
    markers = Markers()
    folder = stack.root / "agencies" / "demo-agency" / "drop"

    # Files one at a time, so each gets its own run; wait for each run's outcome tag and
    # its end: the run is tagged while it still runs, and its final state is asserted below.
    expected = {"good": "delivered", "partly-bad": "delivered", "refused": "refused"}
    ended = {"type": {"any_": ["COMPLETED", "FAILED", "CRASHED", "CANCELLED"]}}

    def finished(kind: str) -> int:
        return len(_runs(api, tags={"all_": [f"outcome:{expected[kind]}"]}, state=ended))

    for kind, rows in operator_files(markers):
        before = finished(kind)
        drop(folder, markers, kind, rows)
        _wait(lambda k=kind, n=before: finished(k) > n, 180, f"the {kind} file's ingest run")

    # The deadline check for an as-of date two business days after the good rows' due date.
    deployment = _api(
        api, "/deployments/filter", {"deployments": {"name": {"any_": ["deadline-check"]}}}
    )[0]
    check = _api(
        api,
        f"/deployments/{deployment['id']}/create_flow_run",
        {"parameters": {"as_of": AS_OF.isoformat()}},
    )
    _wait(
        lambda: _api(api, f"/flow_runs/{check['id']}")["state"]["type"] == "COMPLETED",
        180,
        "the deadline check",
    )
    # Automations: the refused file and the overdue records reach the channel.
    _wait(lambda: any("was refused" in b for b in hook.bodies), 180, "the refused notice")
    _wait(lambda: any("record(s) overdue" in b for b in hook.bodies), 180, "the overdue notice")

    ingest_runs = _runs(api, name={"like_": "ingest demo-agency"})
    named = [r for r in ingest_runs if re.fullmatch(r"ingest demo-agency [0-9a-f]{12}", r["name"])]
    assert len(named) == 3, [r["name"] for r in ingest_runs]
    refused = [r for r in named if r["state"]["name"] == "Refused"]
    assert len(refused) == 1 and refused[0]["state"]["type"] == "COMPLETED"
    assert {"agency:demo-agency", "partner:demo-partner", "outcome:refused"} <= set(
        refused[0]["tags"]
    )
    delivered = [r for r in named if r["state"]["name"] == "Delivered"]
    assert len(delivered) == 2
    overdue_latest = _api(
        api,
        "/artifacts/filter",
        {"artifacts": {"key": {"any_": ["overdue-records"]}}, "sort": "CREATED_DESC", "limit": 1},
    )[0]

    SHOTS.mkdir(parents=True, exist_ok=True)
    texts: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(
            viewport={"width": 1600, "height": 1000}, timezone_id="America/Chicago"
        )
        page = context.new_page()

        def visit(
            path: str, must_show: list[str], shot: str | None = None, settled: str | None = None
        ) -> str:
            page.goto(f"{ui}{path}", wait_until="networkidle")
            for needle in must_show:
                page.get_by_text(needle, exact=False).first.wait_for(timeout=30_000)
            if settled:  # a JS condition the page meets once its late parts have loaded
                page.wait_for_function(settled, timeout=30_000)
            page.wait_for_load_state("networkidle")
            text = page.inner_text("body")
            texts.append(text)
            if shot:
                page.screenshot(path=str(SHOTS / shot), full_page=False)
            return text

        runs = visit(
            "/runs",
            [refused[0]["name"], "deadline-check 2026-12-10"],
            "runs.png",
            # Every run here has task runs: wait until their counts have loaded.
            settled="() => !/(^|\\s)0 Task runs/.test(document.body.innerText)",
        )
        for run in named:
            assert run["name"] in runs
        for needle in (
            "Refused",
            "Delivered",
            "agency:demo-agency",
            "partner:demo-partner",
            "outcome:refused",
            "outcome:delivered",
            "outcome:overdue",
        ):
            assert needle in runs, needle
        visit(
            f"/runs/flow-run/{refused[0]['id']}",
            ["Refused", "outcome:refused"],
            "refused-run.png",
        )
        visit("/artifacts", list(DASHBOARD), "artifacts.png")
        overdue = visit(
            f"/artifacts/artifact/{overdue_latest['id']}",
            ["Overdue records as of 2026-12-10", "OPG0000"],
            "overdue-records.png",
        )
        for intake_id in ("OPG0000", "OPG0001", "OPG0002", "OPP0000", "OPP0002"):
            assert intake_id in overdue
        assert "2026-12-08" in overdue and "business days late" in overdue
        for key, heading, shot in (
            ("intake-summary", "Intake per agency", "intake-summary.png"),
            ("timeliness-trend", "Timeliness trend", None),
            ("due-soon-records", "Records due soon", None),
            ("runbook", "HMIS Handoff runbook", "runbook.png"),
        ):
            latest = _api(
                api,
                "/artifacts/filter",
                {"artifacts": {"key": {"any_": [key]}}, "sort": "CREATED_DESC", "limit": 1},
            )[0]
            visit(f"/artifacts/artifact/{latest['id']}", [heading], shot)
        visit("/automations", list(AUTOMATIONS), "automations.png")
        visit("/events", ["Event Feed"], "events.png")
        # Finished runs only: a scheduled run keeps Prefect's random name until it starts.
        for run in _runs(api, state={"type": {"any_": ["COMPLETED", "FAILED", "CRASHED"]}}):
            visit(f"/runs/flow-run/{run['id']}", [run["name"]], None)
        browser.close()

    code = stack.stop()
    assert code == 0

    # Canary sweep: nothing identifying anywhere Prefect or the operator can see.
    surfaces: dict[str, bytes] = {f"ui page {i}": t.encode() for i, t in enumerate(texts)}
    surfaces["console"] = "".join(stack.output).encode()
    surfaces |= {f"notification {i}": b.encode() for i, b in enumerate(hook.bodies)}
    prefect_home = stack.root / "state" / "prefect"
    files = [p for p in prefect_home.rglob("*") if p.is_file()]
    assert any(p.name.startswith("prefect.db") for p in files)
    surfaces |= {str(p.relative_to(stack.root)): p.read_bytes() for p in files}
    server_log = stack.root / "state" / "prefect-server.log"
    surfaces["prefect-server.log"] = server_log.read_bytes()
    assert len(markers.all) > 40
    leaks = [
        (marker, where)
        for where, blob in surfaces.items()
        for marker in markers.all
        if marker.encode() in blob
    ]
    assert not leaks, f"client values leaked: {leaks[:10]}"
