"""`handoff up` on a port where a Prefect server already answers (another data root's
`handoff up`, both on the default 4200) refuses to start, saying which port and what to
change. It used to announce itself "up" on the other server, serve its deployments there
(pausing that stack's schedules when it stopped) and publish its dashboard there."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import api_port, run_cli


def _deployment_names(api: str) -> set[str]:
    request = urllib.request.Request(
        f"{api}/deployments/filter", data=b"{}", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return {d["name"] for d in json.loads(response.read())}


@pytest.mark.server
def test_up_refuses_a_port_another_server_answers_on(tmp_path: Path, prefect_api: str) -> None:
    port = api_port(prefect_api)
    root = tmp_path / "second"
    run_cli("init", str(root), "--demo", "--port", str(port))
    before = _deployment_names(prefect_api)
    up = subprocess.run(
        [sys.executable, "-m", "cli", "up", "--config", str(root / "handoff.toml")],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert up.returncode == 2, up.stdout + up.stderr
    assert f"a Prefect server already answers on port {port}" in up.stderr
    assert "[prefect] port in handoff.toml" in up.stderr
    assert "HMIS Handoff is up" not in up.stdout
    assert "Automations applied" not in up.stdout
    assert _deployment_names(prefect_api) == before
