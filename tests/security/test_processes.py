"""A killed ``handoff process`` takes its temporary Prefect server with it; Prefect's files
under ``state/prefect`` are private (0600 files, 0700 directories)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.pipeline.test_pipeline import rows
from tests.synthetic import write_sample_csv
from usecases.initialise import initialise


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                raw = (entry / "stat").read_bytes()
            except OSError:
                continue
            if int(raw[raw.rfind(b")") + 2 :].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes()
    except OSError:
        return b""


def _gone(pid: int) -> bool:
    try:
        raw = (Path("/proc") / str(pid) / "stat").read_bytes()
    except OSError:
        return True
    return raw[raw.rfind(b")") + 2 :].split()[0] == b"Z"


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    initialise(data, demo=True)
    return data


def test_a_killed_process_command_leaves_no_prefect_server(root: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    handoff = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli",
            "process",
            "--prefect",
            "--config",
            str(root / "handoff.toml"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    server = None
    deadline = time.monotonic() + 120
    try:
        while server is None and time.monotonic() < deadline and handoff.poll() is None:
            servers = [p for p in _children(handoff.pid) if b"uvicorn" in _cmdline(p)]
            server = servers[0] if servers else None
            time.sleep(0.2)
        assert server is not None, "the temporary Prefect server never started"
        time.sleep(1.0)  # the watchdog records descendants every half second
        handoff.send_signal(signal.SIGKILL)
        handoff.wait(timeout=10)
        deadline = time.monotonic() + 30
        while not _gone(server) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _gone(server), "the temporary Prefect server outlived its killed parent"
    finally:
        if handoff.poll() is None:
            handoff.kill()
            handoff.wait()
        if server is not None and not _gone(server):
            os.kill(server, signal.SIGKILL)


def test_prefect_files_are_private_after_a_run(root: Path) -> None:
    write_sample_csv(root / "agencies" / "demo-agency" / "drop" / "in.csv", rows(1, "MODE"))
    prefect_home = root / "state" / "prefect"
    prefect_home.mkdir(exist_ok=True)
    (prefect_home / "left-by-an-old-run.log").write_text("x")
    os.chmod(prefect_home / "left-by-an-old-run.log", 0o644)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "process",
            "--prefect",
            "--config",
            str(root / "handoff.toml"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    paths = list(prefect_home.rglob("*"))
    assert any(p.name.endswith(".db") for p in paths), "no Prefect database was written"
    for path in [prefect_home, *paths]:
        if path.is_symlink():
            continue
        mode = stat.S_IMODE(path.lstat().st_mode)
        wanted = 0o700 if path.is_dir() else 0o600
        assert mode & ~wanted == 0, f"{path.relative_to(root)} is {oct(mode)}"
