"""``handoff up``: the embedded stack in one process tree.

* a local Prefect server (SQLite under ``state/prefect``, 127.0.0.1) with its UI;
* the deployments of ``prefect.yaml``, served from this process (schedules and triggers
  exactly as declared there);
* the drop-folder watcher, which runs the ingest flow *in this process* for each settled
  file (a tracked flow run in the UI, with no subprocess start: measured event-triggered
  runs start 1.5-2.5 s late, see reference/prefect.md §1.3).

Stops cleanly on Ctrl-C or SIGTERM: watcher first, then the runner, then the server.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import yaml

from hmis_handoff.config import Settings
from hmis_handoff.errors import ConfigError, StackStopped
from hmis_handoff.layout import Layout
from hmis_handoff.prefect_env import STACK_VARIABLE, api_url, stack_marker

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

__all__ = [
    "FLUSH_SECONDS",
    "PROJECT_ROOT",
    "SERVER_START_TIMEOUT",
    "WORKERS_ONLY",
    "flush_prefect_clients",
    "load_deployments",
    "mark_server",
    "prepare_operators_view",
    "refuse_taken_port",
    "run_stack",
    "start_server",
    "stop_server",
    "wait_healthy",
]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SERVER_START_TIMEOUT = 180.0


def start_server(settings: Settings, log_path: Path) -> subprocess.Popen[bytes]:
    """Start ``prefect server start`` bound to 127.0.0.1 (its own process group)."""
    log = log_path.open("ab")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            settings.prefect.host,
            "--port",
            str(settings.prefect.port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=os.environ.copy(),
        start_new_session=True,
    )


def refuse_taken_port(settings: Settings, url: str) -> None:
    """Raise ConfigError when a server already answers where the embedded one would listen.

    Otherwise our own server would fail to bind while the health check passed on the other
    one: this stack would announce itself "up", serve its deployments onto another data
    root's server (pausing that stack's schedules when it stops) and publish its dashboard
    there.
    """
    with (
        contextlib.suppress(OSError),
        urllib.request.urlopen(f"{url}/health", timeout=2) as response,
    ):
        if response.status == 200:
            raise ConfigError(
                f"not started: a Prefect server already answers on port {settings.prefect.port}"
                f" ({url.removesuffix('/api')}), perhaps another `handoff up`. Stop it, or give"
                " this data root another port: [prefect] port in handoff.toml."
            )


def mark_server(settings: Settings) -> None:
    """Leave this data root's marker on the server (``handoff process`` checks it)."""
    from prefect.variables import Variable

    Variable.set(STACK_VARIABLE, stack_marker(settings), overwrite=True)


def wait_healthy(url: str, server: subprocess.Popen[bytes] | None, timeout: float) -> None:
    """Block until ``GET {url}/health`` answers 200; raise if the server dies or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            raise RuntimeError(f"Prefect server exited with code {server.returncode}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{url}/health", timeout=2) as response,
        ):
            if response.status == 200:
                return
        time.sleep(0.5)
    raise TimeoutError("Prefect server did not become healthy in time")


#: How long a stop waits for this process's queued Prefect logs and events to reach the server.
FLUSH_SECONDS = 10.0


def flush_prefect_clients(timeout: float) -> None:
    """Send the logs and events still queued in this process while the server still answers.

    Prefect drains these queues at interpreter exit; after the embedded server has stopped,
    that drain retries a dead server for over a minute (measured after a 300-file backlog:
    74 s from SIGTERM to exit, past a service manager's patience). Items not sent within
    ``timeout`` are left to that exit drain, as before.
    """
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for service in (APILogWorker, EventsWorker):
        try:
            service.drain_all(timeout=timeout)
        except Exception as exc:  # a stop must go on; the type only (no message: values)
            print(f"WARNING: flushing Prefect {service.__name__} failed: {type(exc).__name__}")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group, then SIGKILL if it lingers."""
    if server.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)


#: Deployments for process workers only: in the embedded stack the watcher is the
#: dispatcher (flows/watch.py), so these would only add runs racing it for the same files.
WORKERS_ONLY = frozenset({"ingest-dispatch", "ingest-agency"})


def load_deployments(yaml_path: Path) -> list[RunnerDeployment]:
    """Runner deployments built from ``prefect.yaml`` (schedules, triggers, parameters),
    except :data:`WORKERS_ONLY`."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig
    from prefect.events import DeploymentEventTrigger
    from prefect.schedules import Cron, Interval

    spec = yaml.safe_load(yaml_path.read_text(encoding="utf-8"))
    deployments = []
    for item in spec["deployments"]:
        if item["name"] in WORKERS_ONLY:
            continue
        module_path, flow_name = item["entrypoint"].split(":")
        module = importlib.import_module(module_path.removesuffix(".py").replace("/", "."))
        flow_obj = getattr(module, flow_name)
        schedules = []
        for sched in item.get("schedules") or []:
            if "cron" in sched:
                schedules.append(Cron(sched["cron"], timezone=sched.get("timezone")))
            elif "interval" in sched:
                schedules.append(Interval(sched["interval"], timezone=sched.get("timezone")))
        triggers = [
            DeploymentEventTrigger(**{k: v for k, v in trig.items() if k != "type"})
            for trig in item.get("triggers") or []
        ]
        limit = item.get("concurrency_limit")
        if isinstance(limit, dict):
            limit = ConcurrencyLimitConfig(
                limit=limit["limit"],
                collision_strategy=limit.get("collision_strategy", "ENQUEUE"),
            )
        deployments.append(
            flow_obj.to_deployment(
                name=item["name"],
                concurrency_limit=limit,
                description=item.get("description"),
                tags=item.get("tags"),
                parameters=item.get("parameters") or {},
                schedules=schedules,
                triggers=triggers,
            )
        )
    return deployments


def prepare_operators_view(settings: Settings) -> None:
    """Apply the automations, warn when nobody would be notified, publish the dashboard.

    Runs before the watcher and the schedules start, so the deadline dashboard exists from
    the first minute whatever the day or hour (the scheduled check runs in business hours).
    """
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from flows.automations import apply_automations
    from flows.dashboard import dashboard_refresh
    from hmis_handoff.runbook import channel_warning

    names = apply_automations(settings)
    print(f"Automations applied: {len(names)}", flush=True)
    warning = channel_warning(settings)
    if warning:
        print(warning, flush=True)
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        dashboard_refresh()


def _served(url: str, names: list[str]) -> bool:
    """True once every deployment in ``names`` is registered on the server at ``url``."""
    body = json.dumps({"deployments": {"name": {"any_": names}}}).encode()
    request = urllib.request.Request(
        f"{url}/deployments/filter", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            found = {d["name"] for d in json.loads(response.read())}
    except (OSError, ValueError):
        return False
    return set(names) <= found


def _announce_when_served(url: str, names: list[str], ui: str, stop: threading.Event) -> None:
    """Print the "up" line once the deployments can be run, not merely once the server
    answers: an operator (or a script) that acts on the line finds every deployment."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while not stop.is_set() and not _served(url, names):
        if time.monotonic() > deadline:
            print("WARNING: deployments not registered yet; the UI may not list them", flush=True)
            break
        time.sleep(0.2)
    if not stop.is_set():
        print(f"HMIS Handoff is up. Prefect UI: {ui}", flush=True)


def run_stack(settings: Settings) -> int:
    """Run until stopped; returns the process exit code."""
    from prefect import serve

    from flows.watch import start_confirmation_watcher, start_watcher

    layout = Layout(settings.root)
    layout.create([a.id for a in settings.agencies], [p.id for p in settings.partners])
    url = api_url(settings)
    server = None
    if not settings.prefect.api_url:
        refuse_taken_port(settings, url)
        server = start_server(settings, layout.prefect_server_log)
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()
        raise StackStopped(signum)

    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    watcher: threading.Thread | None = None
    confirmations: threading.Thread | None = None
    try:
        wait_healthy(url, server, SERVER_START_TIMEOUT)
        mark_server(settings)
        deployments = load_deployments(PROJECT_ROOT / "prefect.yaml")
        prepare_operators_view(settings)
        watcher = start_watcher(settings, stop)
        confirmations = start_confirmation_watcher(settings, stop)
        ui = url.removesuffix("/api")
        names = sorted({str(d.name) for d in deployments})
        threading.Thread(
            target=_announce_when_served, args=(url, names, ui, stop), daemon=True
        ).start()
        serve(*deployments, limit=4, print_starting_message=False)
        return 0
    except (StackStopped, KeyboardInterrupt):
        return 0
    finally:
        stop.set()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if watcher is not None:
            watcher.join(timeout=15)
        if confirmations is not None:
            confirmations.join(timeout=15)
        flush_prefect_clients(timeout=FLUSH_SECONDS)
        if server is not None:
            stop_server(server)
        print("HMIS Handoff stopped.", flush=True)
