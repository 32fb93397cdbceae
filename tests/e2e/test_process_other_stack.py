"""`handoff process` on a data root whose configured port is answered by ANOTHER data
root's `handoff up` (both on the default 4200) sweeps without that server: it used to run
its ingest flow there, so the other stack's runs list and dashboard artifacts showed this
root's files and counts. The server's marker (`handoff up` leaves a hash of its data root
in a Prefect Variable) tells them apart; its own stack's server is used as before."""

from __future__ import annotations

import contextlib
import json
import shutil
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from hmis_handoff.config import load_settings
from hmis_handoff.prefect_env import STACK_VARIABLE, stack_marker
from tests.conftest import api_port, run_cli


def _call(method: str, url: str, body: object | None = None) -> object:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


@pytest.fixture
def marker(prefect_api: str) -> Iterator[str]:
    """The session server's marker variable, removed afterwards (other tests use the server
    as an unmarked one)."""
    url = f"{prefect_api}/variables/name/{STACK_VARIABLE}"
    yield url
    with contextlib.suppress(OSError):
        _call("DELETE", url)


def _runs_named(api: str, fragment: str) -> list[object]:
    body = {"flow_runs": {"name": {"like_": fragment}}}
    found = _call("POST", f"{api}/flow_runs/filter", body)
    assert isinstance(found, list)
    return found


def _drop_and_process(root: Path, name: str) -> tuple[dict[str, object], str]:
    drop = root / "agencies" / "demo-agency" / "drop"
    shutil.copyfile(root / "samples" / "demo-intake.csv", drop / name)
    time.sleep(2.1)  # older than the settle window: claimed on first sight
    result = run_cli("process", "--config", str(root / "handoff.toml"), "--json")
    return json.loads(result.stdout), result.stderr


@pytest.mark.server
def test_process_keeps_off_another_roots_server(
    tmp_path: Path, prefect_api: str, marker: str
) -> None:
    root = tmp_path / "b"
    run_cli("init", str(root), "--demo", "--port", str(api_port(prefect_api)))
    _call("POST", f"{prefect_api}/variables/", {"name": STACK_VARIABLE, "value": "root-other"})

    summary, stderr = _drop_and_process(root, "first.csv")
    assert summary["by_state"] == {"delivered": 1}
    assert "belongs to another data root" in stderr
    [outcome] = summary["outcomes"]  # type: ignore[misc]
    ref = outcome["file_ref"]
    assert not _runs_named(prefect_api, ref)
    assert not list((root / "state").rglob("prefect.db"))  # and no temporary server

    # The same server marked as this root's own: the sweep is a flow run there again.
    _call("PATCH", marker, {"value": stack_marker(load_settings(root / "handoff.toml"))})
    summary, stderr = _drop_and_process(root, "again.csv")
    assert summary["by_state"] == {"duplicate": 1}
    assert "another data root" not in stderr
    assert _runs_named(prefect_api, ref)
