"""The pinned Prefect set works here: the server starts and a schedule produces runs.

Pins (reference/prefect.md §0): prefect 3.8.8 (3.9 does not install here), fastapi 0.150.0
(0.151 rejects JSON null bodies Prefect sends; 0.155 crashes the server), SQLAlchemy 2.0.x
(2.1 silently stops the scheduler).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.stack.prefect_server import prefect_server


def test_pinned_versions_are_installed() -> None:
    assert version("prefect") == "3.8.8"
    assert version("fastapi") == "0.150.0"
    assert version("sqlalchemy").startswith("2.0.")


@pytest.mark.server
def test_server_starts_and_a_scheduled_deployment_gets_runs(tmp_path: Path) -> None:
    with prefect_server(
        tmp_path, extra_env={"PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2"}
    ) as api:
        env = {**os.environ, "PREFECT_API_URL": api, "PREFECT_HOME": str(tmp_path)}
        created = subprocess.run(
            [sys.executable, "-c", _CREATE_SCHEDULED_DEPLOYMENT],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        deployment_id = json.loads(created.stdout.strip().splitlines()[-1])
        deadline = time.monotonic() + 180
        runs = 0
        while time.monotonic() < deadline:
            counted = subprocess.run(
                [sys.executable, "-c", _COUNT_RUNS, deployment_id],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
            runs = int(counted.stdout.strip().splitlines()[-1])
            if runs:
                break
            time.sleep(2)
        assert runs >= 1, "the scheduler created no runs (SQLAlchemy 2.1 symptom)"


_CREATE_SCHEDULED_DEPLOYMENT = textwrap.dedent(
    """
    import asyncio, json
    from datetime import timedelta
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import DeploymentScheduleCreate
    from prefect.client.schemas.schedules import IntervalSchedule

    @flow(name="pinned-probe")
    def probe() -> None:
        pass

    async def main():
        async with get_client() as client:
            flow_id = await client.create_flow(probe)
            dep_id = await client.create_deployment(
                flow_id=flow_id,
                name="every-minute",
                schedules=[DeploymentScheduleCreate(
                    schedule=IntervalSchedule(interval=timedelta(minutes=1),
                                              timezone="America/Chicago"),
                    active=True)],
            )
            return str(dep_id)

    print(json.dumps(asyncio.run(main())))
    """
)

_COUNT_RUNS = textwrap.dedent(
    """
    import asyncio, sys
    from uuid import UUID
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    async def main():
        async with get_client() as client:
            runs = await client.read_flow_runs(deployment_filter=DeploymentFilter(
                id=DeploymentFilterId(any_=[UUID(sys.argv[1])])))
            return len(runs)

    print(asyncio.run(main()))
    """
)
