"""Start a real Prefect server on 127.0.0.1 for a test, and stop it afterwards."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

# Ports are drawn below Linux's ephemeral range (32768-60999 by default): a port the kernel
# hands out for bind(0) comes from that range, where it also picks the local port of every
# outgoing connection (hundreds per test against a Prefect server, on a machine shared by
# several test runs), so such a port could be taken before the server meant for it binds.
_PORTS = range(20000, 32000)
_given: set[int] = set()  # never the same port twice in one test session


def free_port() -> int:
    """A loopback TCP port nothing listens on now, outside the ephemeral range and not
    handed out before by this process (two servers of one session never share one)."""
    for _ in range(500):
        port = _PORTS[secrets.randbelow(len(_PORTS))]  # random: other runs draw too
        if port in _given:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given.add(port)
        return port
    raise RuntimeError("no free loopback port between 20000 and 32000")


def _lost_the_port(log: Path, start: int) -> bool:
    """True when the server's log (written from offset ``start``) says another process bound
    its port first (Prefect's own check: "is already in use"; uvicorn's bind: "address
    already in use")."""
    with log.open("rb") as handle:
        handle.seek(start)
        return b"already in use" in handle.read().lower()


@contextlib.contextmanager
def prefect_server(home: Path, *, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """Yield the API URL of a fresh server (SQLite in ``home``); killed on exit.

    A port taken between :func:`free_port` and the server's bind (another test run on the
    machine) costs a retry on another port, not the test.
    """
    log_path = home / "server.log"
    for attempt in range(3):
        port = free_port()
        env = {
            **os.environ,
            "PREFECT_HOME": str(home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_API_HOST": "127.0.0.1",
            "PREFECT_SERVER_API_PORT": str(port),
            **(extra_env or {}),
        }
        env.pop("PREFECT_API_URL", None)
        log = log_path.open("ab")
        start = log.tell()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "prefect",
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}/api"
        try:
            deadline = time.monotonic() + 180
            while True:
                if proc.poll() is not None:
                    if attempt < 2 and _lost_the_port(log_path, start):
                        break
                    raise RuntimeError(log_path.read_text()[-3000:])
                with (
                    contextlib.suppress(OSError),
                    urllib.request.urlopen(f"{url}/health", timeout=2) as resp,
                ):
                    if resp.status == 200:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError("Prefect server did not start")
                time.sleep(0.5)
            if proc.poll() is None:
                yield url
                return
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            log.close()
    raise RuntimeError("the Prefect server lost its port three times")
