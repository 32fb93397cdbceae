"""Finding 7: Prefect hardening is asserted at start-up, not assumed.

``handoff process`` and ``handoff up`` refuse to start (exit 2-ish, a message naming the
setting) when the API would bind beyond loopback without protection; the checker flags
result persistence, log_prints, missing run/event retention and any flow or task that
persists results, read from Prefect's real settings.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from prefect import flow, task
from prefect.settings import (
    PREFECT_LOGGING_LOG_PRINTS,
    PREFECT_RESULTS_PERSIST_BY_DEFAULT,
    PREFECT_SERVER_API_AUTH_STRING,
    PREFECT_SERVER_EVENTS_RETENTION_PERIOD,
    PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED,
    temporary_settings,
)

from flows.hardening import hardening_problems, our_prefect_objects
from hmis_handoff import prefect_env
from hmis_handoff.config import load_settings
from tests.conftest import run_cli


def _hardened_env(root: Path) -> dict[object, object]:
    settings = load_settings(root / "handoff.toml")
    env = prefect_env.prefect_environment(settings, with_api_url=False)
    # What the CLI exports (JSON in the environment); temporary_settings wants the set.
    enabled = set(json.loads(env["PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED"]))
    return {
        PREFECT_RESULTS_PERSIST_BY_DEFAULT: False,
        PREFECT_LOGGING_LOG_PRINTS: False,
        PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED: enabled,
    }


def test_the_shipped_configuration_is_hardened(root: Path) -> None:
    settings = load_settings(root / "handoff.toml")
    objects = our_prefect_objects()
    assert {"ingest", "hand-off-files"} <= {o.name for o in objects}
    with temporary_settings(updates=_hardened_env(root)):  # type: ignore[arg-type]
        assert hardening_problems(settings, server=True) == []


def test_each_open_surface_is_named(root: Path) -> None:
    settings = load_settings(root / "handoff.toml")

    @task(persist_result=True)
    def leaky_task() -> None:
        return None

    @flow(log_prints=True, persist_result=False)
    def chatty_flow() -> None:
        return None

    updates = {
        PREFECT_RESULTS_PERSIST_BY_DEFAULT: True,
        PREFECT_LOGGING_LOG_PRINTS: True,
        PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED: {"events"},
        PREFECT_SERVER_EVENTS_RETENTION_PERIOD: timedelta(0),
    }
    with temporary_settings(updates=updates):  # type: ignore[arg-type]
        problems = hardening_problems(settings, server=True, objects=[leaky_task, chatty_flow])
    text = "\n".join(problems)
    for expected in (
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT",
        "PREFECT_LOGGING_LOG_PRINTS",
        "leaky_task: persist_result",
        "chatty-flow: log_prints",
        "flow_runs and events",
        "PREFECT_SERVER_EVENTS_RETENTION_PERIOD",
    ):
        assert expected in text, (expected, problems)


def test_non_loopback_binding_needs_protection(root: Path) -> None:
    settings = load_settings(root / "handoff.toml").model_copy(
        update={
            "prefect": load_settings(root / "handoff.toml").prefect.model_copy(
                update={"host": "0.0.0.0"}
            )
        }
    )
    with temporary_settings(updates=_hardened_env(root)):  # type: ignore[arg-type]
        assert any("not loopback" in p for p in hardening_problems(settings, server=True))
    protected = {**_hardened_env(root), PREFECT_SERVER_API_AUTH_STRING: "admin:s3cret-pass"}
    with temporary_settings(updates=protected):  # type: ignore[arg-type]
        assert hardening_problems(settings, server=True) == []


def test_process_refuses_to_start_bound_beyond_loopback(root: Path) -> None:
    result = run_cli(
        "process",
        "--config",
        str(root / "handoff.toml"),
        env={"HANDOFF_PREFECT__HOST": "0.0.0.0"},
        check=False,
        timeout=120,
    )
    assert result.returncode != 0
    assert "not loopback" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
