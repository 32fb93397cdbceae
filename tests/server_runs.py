"""Ask a Prefect server which flow runs it holds: proof a CLI run reached *that* server.

The CLI falls back to a temporary server when the configured one does not answer
``/health`` in time; a test that only looks at the files on disk would pass either way.
These helpers read the server under test's own API, so such a fallback fails the test.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any


def post(api: str, path: str, body: dict[str, Any]) -> Any:
    """POST JSON and return the answer; a 503 (a server busy under load) is asked again."""
    request = urllib.request.Request(
        f"{api}{path}", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    for attempt in range(5):
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            if error.code != 503 or attempt == 4:
                raise
            time.sleep(2)
    raise AssertionError("unreachable")


def flow_runs(api: str, flow_name: str, *, since: datetime | None = None) -> list[dict[str, Any]]:
    """Flow runs of ``flow_name`` on the server at ``api`` (started after ``since``)."""
    body: dict[str, Any] = {"flows": {"name": {"any_": [flow_name]}}, "limit": 200}
    if since is not None:
        body["flow_runs"] = {"expected_start_time": {"after_": since.isoformat()}}
    runs: list[dict[str, Any]] = post(api, "/flow_runs/filter", body)
    return runs


def task_run_names(api: str, flow_run_id: str) -> list[str]:
    """Names of the task runs of one flow run on that server."""
    runs = post(api, "/task_runs/filter", {"flow_runs": {"id": {"any_": [flow_run_id]}}})
    return sorted(str(r["name"]) for r in runs)
