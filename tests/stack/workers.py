"""The scale path's scaffolding, shared by its tests and ``bench/scale.py``: scratch
PostgreSQL databases, the environment a Prefect process worker runs in, the ``prefect``
command, and starting and stopping workers on the ``handoff`` pool."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.conftest import REPO_ROOT

__all__ = [
    "PG_ADMIN",
    "PREFECT_BIN",
    "database_url",
    "prefect_cli",
    "scratch_database",
    "start_workers",
    "stop_workers",
    "worker_env",
]

PG_ADMIN = os.environ.get(
    "HANDOFF_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PREFECT_BIN = str(Path(sys.executable).parent / "prefect")


@contextlib.contextmanager
def scratch_database(prefix: str = "hh", admin: str = PG_ADMIN) -> Iterator[str]:
    """A fresh PostgreSQL database (its name), dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield name
    finally:
        with engine.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        engine.dispose()


def database_url(name: str, driver: str = "psycopg", admin: str = PG_ADMIN) -> str:
    """The URL of database ``name`` on the admin URL's server, through ``driver``."""
    head = admin.rsplit("/", 1)[0].replace("postgresql+psycopg", f"postgresql+{driver}")
    return f"{head}/{name}"


def worker_env(home: Path, api: str, **extra: str) -> dict[str, str]:
    """This process's environment for the ``prefect`` command and its workers: Prefect's
    home and API, workers polling every second, this checkout as the code, a short settle
    window; ``extra`` on top (e.g. ``HANDOFF_CONFIG``, ``HANDOFF_LEDGER__URL``)."""
    return {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api,
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "HANDOFF_CODE_DIR": str(REPO_ROOT),
        "HANDOFF_INTAKE__STABLE_SECONDS": "0.2",
        **extra,
    }


def prefect_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``prefect ARGS`` from the checkout (output captured; the caller checks the code)."""
    return subprocess.run(
        [PREFECT_BIN, *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )


def start_workers(
    env: dict[str, str], count: int, names: list[str] | None = None
) -> list[subprocess.Popen[bytes]]:
    """``count`` process workers on the ``handoff`` pool (limit 1 each), each in its own
    session so :func:`stop_workers` ends it with its flow runs."""
    start = [PREFECT_BIN, "worker", "start", "--pool", "handoff", "--limit", "1"]
    return [
        subprocess.Popen(
            [*start, *(["--name", names[i]] if names else [])],
            env=env,
            cwd=REPO_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        for i in range(count)
    ]


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each worker's session, then SIGKILL what is still there after 30 s."""
    for worker in workers:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
