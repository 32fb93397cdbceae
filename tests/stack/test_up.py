"""`handoff up` for real: server + UI, served deployments, watcher, clean stop.

One test drives the whole embedded stack as an operator would: start it, drop the demo
intake, see the package appear, find the flow run, deployments, artifact and events through
the Prefect API (this stack's own server), look at the UI in headless Chromium, then stop
it with SIGTERM. What Prefect and everything else stored is searched for client values by
the whole-system canary sweep (tests/canary/test_canary_sweep.py), which replaced the
narrow check of ``state/prefect`` that used to end this test.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.stack.prefect_server import free_port

UI_LINE = "Prefect UI: "


def _get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _post(url: str, body: dict[str, object]) -> object:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


class Stack:
    def __init__(self, root: Path, port: int, *, env: dict[str, str] | None = None) -> None:
        self.root = root
        self.port = port
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "up", "--config", str(root / "handoff.toml")],
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        with self.proc.stdout:  # closed at the end of the output: no pipe left open
            for line in self.proc.stdout:
                self.output.append(line)
                self.lines.put(line)

    def wait_for_line(self, needle: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            if needle in line:
                return line
        raise AssertionError(f"no {needle!r} in output:\n{''.join(self.output)[-4000:]}")

    def stop(self, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            raise
        # The last lines may still be in the pipe: ``output`` is complete once this returns.
        self._pump_thread.join(timeout=60)
        return code


@pytest.fixture()
def stack(tmp_path: Path) -> Iterator[Stack]:
    port = free_port()
    root = tmp_path / "data"
    run_cli("init", str(root), "--demo", "--port", str(port))
    running = Stack(root, port)
    try:
        yield running
    finally:
        if running.proc.poll() is None:
            with_kill = running.proc.pid
            try:
                running.stop()
            except subprocess.TimeoutExpired:
                os.killpg(with_kill, signal.SIGKILL)


def _wait(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.server
@pytest.mark.browser
def test_up_serves_ui_deployments_and_hands_off_a_dropped_file(stack: Stack) -> None:
    line = stack.wait_for_line(UI_LINE, timeout=240)
    ui = line.split(UI_LINE, 1)[1].strip()
    assert ui == f"http://127.0.0.1:{stack.port}"
    api = f"{ui}/api"

    # Drop the way a careful uploader does: temp name, then rename into the folder.
    drop = stack.root / "agencies" / "demo-agency" / "drop"
    temp = drop / "upload.csv.part"
    shutil.copyfile(stack.root / "samples" / "demo-intake.csv", temp)
    os.rename(temp, drop / "intake.csv")
    outbox = stack.root / "partners" / "demo-partner" / "outbox"
    _wait(lambda: len(list(outbox.glob("*.sig"))) == 1, 90, "the package")
    _wait(lambda: not list(drop.iterdir()), 120, "the drop folder to empty")

    deployments = _post(f"{api}/deployments/filter", {})
    names = {d["name"]: d for d in deployments}  # type: ignore[union-attr]
    assert {"ingest-sweep", "deadline-check"} <= set(names)
    for name in ("ingest-sweep", "deadline-check"):
        schedules = names[name]["schedules"]
        assert schedules and all(
            s["schedule"].get("timezone") == "America/Chicago" for s in schedules
        )

    def ingest_completed() -> bool:
        runs = _post(
            f"{api}/flow_runs/filter",
            {"flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}},
        )
        return any(r["parameters"].get("claim_ids") for r in runs)  # type: ignore[union-attr]

    _wait(ingest_completed, 180, "a completed ingest flow run")
    artifact = _post(
        f"{api}/artifacts/filter", {"artifacts": {"key": {"any_": ["intake-last-run"]}}}
    )
    assert artifact, "the intake-last-run artifact"

    def events_seen() -> bool:  # the server persists events in batches (every ~5 s)
        events = _post(
            f"{api}/events/filter",
            {"filter": {"event": {"prefix": ["handoff.file."]}}, "limit": 50},
        )
        kinds = {e["event"] for e in events["events"]}  # type: ignore[index]
        return {"handoff.file.detected", "handoff.file.delivered"} <= kinds

    _wait(events_seen, 180, "handoff.file.detected and .delivered events")

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium is required (make test installs it)"
    dom = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={stack.root / 'chromium'}",
            "--virtual-time-budget=20000",
            "--dump-dom",
            f"{ui}/deployments",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "ingest-sweep" in dom or "deadline-check" in dom, dom[-2000:]

    code = stack.stop()
    assert code == 0
    output = "".join(stack.output)
    assert "HMIS Handoff stopped." in output
    # Queued logs and events went out before the server stopped: Prefect's exit drain did
    # not retry a dead server (which took over a minute after a backlog).
    assert "Error logging to API" not in output, output[-2000:]
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", stack.port)) != 0, "the server is still listening"
