"""Finding 3 (high): a file rewritten after ``validated`` was delivered unvalidated, and the
changed value leaked into stderr, Prefect's logs, the state message and result storage.

Through the real CLI and a real Prefect server: ``handoff process`` is SIGKILLed at the
``validated`` failpoint, the claimed file is rewritten in ``work/`` with a marker in a
date cell, and the next ``handoff process`` must deliver exactly what was validated. The
marker must then appear nowhere: not in stdout/stderr, not in any byte of the Prefect
server's home (database, WAL, logs) nor of the data root's Prefect home (result storage),
not in the package.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from tests.conftest import age_binary, api_port, run_cli

MARKER = b"ZQXREWRITTENLEAK"


def _bytes_under(directory: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in directory.rglob("*") if p.is_file()]


def _holds(directory: Path, needle: bytes) -> bool:
    """True when a file under ``directory`` holds ``needle`` (files may come and go)."""
    for path in directory.rglob("*"):
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            if needle in path.read_bytes():
                return True
    return False


@pytest.mark.server
def test_rewrite_after_validated_is_not_delivered_and_never_leaks(
    tmp_path: Path, prefect_api: str
) -> None:
    root = tmp_path / "x"
    run_cli("init", str(root), "--demo", "--port", str(api_port(prefect_api)))
    config = str(root / "handoff.toml")
    shutil.copyfile(
        root / "samples" / "demo-intake.csv",
        root / "agencies" / "demo-agency" / "drop" / "demo-intake.csv",
    )
    crashed = run_cli(
        "process", "--config", config, env={"HANDOFF_FAILPOINT": "validated"}, check=False
    )
    assert crashed.returncode == -9, crashed.stderr[-2000:]
    (claimed,) = [p for p in (root / "work").glob("*.csv") if ".copy" not in p.name]
    text = claimed.read_bytes()
    # Every intake date becomes the marker: rows the validator never saw.
    lines = text.split(b"\n")
    header = lines[0].split(b",")
    column = header.index(b"IntakeDate")
    rewritten = [lines[0]]
    for line in lines[1:]:
        cells = line.split(b",")
        if len(cells) > column:
            cells[column] = MARKER
        rewritten.append(b",".join(cells))
    claimed.write_bytes(b"\n".join(rewritten))

    result = run_cli("process", "--config", config, "--json")
    summary = json.loads(result.stdout)
    assert summary["by_state"] == {"delivered": 1}
    assert MARKER.decode() not in result.stdout + result.stderr

    (package,) = (root / "partners" / "demo-partner" / "outbox").glob("*.age")
    age = age_binary()
    assert age, "Debian's age must be installed (make test installs it)"
    plain = subprocess.run(
        [age, "-d", "-i", str(root / "demo-keys" / "demo-partner.key"), str(package)],
        capture_output=True,
        check=True,
    ).stdout
    # The payload is a zip (format 2): look inside every member, not at compressed bytes.
    with zipfile.ZipFile(io.BytesIO(plain)) as payload:
        for member in payload.namelist():
            assert MARKER not in payload.read(member), member

    # The server stores events in batches: look for the marker only once this file's own
    # event (its ref from the receipt) is in the server's home.
    reports = root / "agencies" / "demo-agency" / "reports"
    with next(reports.glob("*_receipt.csv")).open(encoding="utf-8-sig", newline="") as handle:
        needle = f"handoff.file.{next(csv.DictReader(handle))['file_ref']}".encode()
    server_home = Path(os.environ["PREFECT_HOME"])
    deadline = time.monotonic() + 120
    while not _holds(server_home, needle) and time.monotonic() < deadline:
        time.sleep(1)
    assert _holds(server_home, needle), "the file's event never reached Prefect"
    for path, data in [*_bytes_under(server_home), *_bytes_under(root / "state")]:
        assert MARKER not in data, path
    storage = root / "state" / "prefect" / "storage"
    assert not storage.exists() or not any(storage.iterdir())


@pytest.mark.server
def test_failed_ingest_leaves_no_pickle_in_result_storage(tmp_path: Path, prefect_api: str) -> None:
    root = tmp_path / "x"
    run_cli("init", str(root), "--demo", "--port", str(api_port(prefect_api)))
    work = root / "work"
    work.rename(root / "work-real")
    work.symlink_to(root / "work-real")  # recovery refuses it: the flow fails
    failed = run_cli("process", "--config", str(root / "handoff.toml"), check=False)
    assert failed.returncode != 0
    assert "FOLDER-UNSAFE" in failed.stderr + failed.stdout
    storage = root / "state" / "prefect" / "storage"
    assert not storage.exists() or not any(storage.iterdir())
