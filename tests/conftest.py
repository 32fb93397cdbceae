"""Shared fixtures: a real Prefect server for the session, demo data roots.

Before anything runs, every real part the suite drives is checked (``tests/real_parts.py``):
one missing fails the run with one message naming it and how to install it. A test that
ends "skipped" (or xfailed) fails instead. Both give way only to
``HANDOFF_TESTS_ALLOW_SKIP=1``, which CI never sets; then tests marked for a missing part
(``postgres``, ``browser``, ``interop``) are skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.real_parts import failure_message, missing_real_parts, opted_out

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"
# Which real part each marker needs (a test so marked is skipped only under the opt-out).
MARKER_PARTS = {"postgres": "PostgreSQL", "browser": "`chromium`", "interop": "`age`"}
_missing: list[str] = []


def pytest_sessionstart(session: pytest.Session) -> None:
    """Fail the run at once, with one message, when a real part is missing."""
    if session.config.option.collectonly:
        return
    _missing[:] = missing_real_parts()
    if _missing and not opted_out():
        pytest.exit(failure_message(_missing), returncode=pytest.ExitCode.USAGE_ERROR)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under the opt-out only: skip the tests whose marked real part is missing."""
    if not (_missing and opted_out()):
        return
    for item in items:
        for marker, part in MARKER_PARTS.items():
            hits = [m for m in _missing if part in m]
            if item.get_closest_marker(marker) and hits:
                item.add_marker(pytest.mark.skip(reason=hits[0]))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    """A skipped or xfailed test is a failed test unless skips were allowed explicitly."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if opted_out() or not report.skipped:
        return None
    why = getattr(report, "wasxfail", None)
    if why is not None:
        reason = f"xfailed ({why or 'no reason'})"
    else:
        longrepr = report.longrepr
        text = str(longrepr[2] if isinstance(longrepr, tuple) else longrepr)
        reason = f"skipped ({text.removeprefix('Skipped: ')})"
    report.outcome = "failed"
    report.longrepr = (
        f"{item.nodeid} {reason}: a test that does not run proves nothing. Install what it "
        "needs, or set HANDOFF_TESTS_ALLOW_SKIP=1 for a local run (never in CI)."
    )
    return None


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prefect server on 127.0.0.1 for the whole session; its API URL.

    In-process flows use it through ``PREFECT_API_URL``; it is stopped at the end.
    """
    from tests.stack.prefect_server import prefect_server

    home = tmp_path_factory.mktemp("prefect-home")
    with prefect_server(home) as url:
        old = {k: os.environ.get(k) for k in ("PREFECT_API_URL", "PREFECT_HOME")}
        os.environ["PREFECT_API_URL"] = url
        os.environ["PREFECT_HOME"] = str(home)
        from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

        with temporary_settings({PREFECT_API_URL: url, PREFECT_HOME: home}):
            yield url
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def api_port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/", 1)[0])


def run_cli(
    *args: str, env: dict[str, str] | None = None, check: bool = True, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m cli ARGS`` and return the finished process."""
    merged = {**os.environ, **(env or {})}
    result = subprocess.run(
        [sys.executable, "-m", "cli", *args],
        capture_output=True,
        text=True,
        env=merged,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"handoff {' '.join(args)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr[-4000:]}"
        )
    return result


def age_binary() -> str | None:
    return shutil.which("age")
