"""The session-start check and the no-skip rule, shown by running pytest in a subprocess.

Each case runs the real suite's conftest on a tiny probe file (``probe_*.py``, named so the
suite never collects them) with one real part taken away: ``age`` missing from PATH,
PostgreSQL pointed at a closed port. The run must fail before any test, naming the part
and how to install it; a skipped or xfailed test must fail the run; and only
``HANDOFF_TESTS_ALLOW_SKIP=1`` gives way.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.real_parts import OPT_OUT, SHARED_SETS, failure_message, missing_real_parts
from tests.stack.prefect_server import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
TOOLS = ("chromium", "ssh-keygen", "sshd", "age", "age-keygen")


def _path_without(tmp_path: Path, *absent: str) -> str:
    """A PATH holding only links to the tools the check looks for, minus ``absent``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    search = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin"
    for tool in TOOLS:
        if tool in absent:
            continue
        found = shutil.which(tool, path=search)
        assert found, f"{tool} must be installed for this test (make test installs it)"
        (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


def _pytest(probe: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != OPT_OUT}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(HERE / probe)],
        cwd=REPO_ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_missing_age_fails_the_run_with_one_clear_message(tmp_path: Path) -> None:
    run = _pytest("probe_pass.py", PATH=_path_without(tmp_path, "age", "age-keygen"))
    output = run.stdout + run.stderr
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, output
    assert "Real parts the tests need are missing" in output
    assert "`age` not found: install the Debian package 'age'" in output
    assert "make test" in output
    assert "chromium" not in output and "PostgreSQL" not in output, "only what is missing"
    assert "passed" not in output, "no test may run before the check"


def test_unreachable_postgresql_fails_the_run(tmp_path: Path) -> None:
    closed = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test"
    run = _pytest("probe_pass.py", HANDOFF_TEST_PG_URL=closed)
    output = run.stdout + run.stderr
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, output
    assert "PostgreSQL at postgresql+psycopg://postgres@127.0.0.1:" in output
    assert "refused a connection or CREATE DATABASE" in output


def test_the_opt_out_lets_a_run_without_age_go_on(tmp_path: Path) -> None:
    run = _pytest("probe_pass.py", PATH=_path_without(tmp_path, "age"), **{OPT_OUT: "1"})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout


def test_a_skip_or_an_xfail_fails_the_run() -> None:
    run = _pytest("probe_skip.py")
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.stdout + run.stderr
    assert "2 failed" in run.stdout
    assert "skipped (probe skip)" in run.stdout
    assert "xfailed (probe xfail)" in run.stdout
    assert "a test that does not run proves nothing" in run.stdout


def test_the_opt_out_lets_skips_be_skips() -> None:
    run = _pytest("probe_skip.py", **{OPT_OUT: "1"})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 skipped, 1 xfailed" in run.stdout


def test_nothing_is_missing_on_this_machine() -> None:
    missing = missing_real_parts()
    assert missing == [], failure_message(missing)


def test_missing_shared_data_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import tests.real_parts as real_parts

    (tmp_path / SHARED_SETS[0]).mkdir()
    monkeypatch.setattr(real_parts, "SHARED_TESTDATA", tmp_path)
    [message] = [m for m in real_parts.missing_real_parts() if "shared test data" in m]
    assert str(tmp_path) in message
    assert all(name in message for name in SHARED_SETS[1:])
    assert SHARED_SETS[0] + "," not in message


def test_ci_never_opts_out() -> None:
    script = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert f"unset {OPT_OUT}" in script
    assert script.index(f"unset {OPT_OUT}") < script.index("make test")
