"""The agency's file name may appear only inside that agency's own reports folder.

A file whose name carries a unique canary goes through ``handoff process`` with a real
Prefect server. The canary must then be in the agency's receipt and index page (positive
control) and nowhere else: not in the ledger, the Prefect server's database (flow and task
runs, parameters, results, state messages, logs, events, artifacts), the command's output
(its logs), another agency's folder, or the name or content of any other file under the data
root. The file's short reference is looked up the same way in the Prefect database, to prove
the search sees what the flow stored there.
"""

from __future__ import annotations

import csv
import json
import os
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import api_port, run_cli
from tests.synthetic import make_valid_row, write_sample_csv


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]


def _holding(paths: list[Path], needle: bytes) -> list[str]:
    """Paths whose name or bytes contain ``needle`` (text or UTF-16, as SQLite may store)."""
    forms = (needle, needle.decode().encode("utf-16-le"))
    found = []
    for path in paths:
        data = path.read_bytes()
        if any(form in os.fsencode(path.name) or form in data for form in forms):
            found.append(str(path))
    return found


@pytest.mark.server
def test_agency_file_name_stays_in_the_agency_reports_folder(
    tmp_path: Path, prefect_api: str
) -> None:
    root = tmp_path / "data"
    run_cli("init", str(root), "--demo", "--port", str(api_port(prefect_api)))
    canary = f"NAMECNRY{uuid.uuid4().hex[:10]}"
    name = f"Smith John {canary} intake 3-2.csv"
    rows = [make_valid_row(IntakeID="N0001", HouseholdID="HN0001", SSN="701011001")]
    rows.append(make_valid_row(IntakeID="N0002", HouseholdID="HN0002", SSN="123456789"))
    write_sample_csv(root / "agencies" / "demo-agency" / "drop" / name, rows)

    result = run_cli("process", "--config", str(root / "handoff.toml"), "--json")
    summary = json.loads(result.stdout)
    assert summary["by_state"] == {"delivered": 1}
    assert canary not in result.stdout + result.stderr

    reports = root / "agencies" / "demo-agency" / "reports"
    inside = _holding(_files(reports), canary.encode())
    assert any(p.endswith("_receipt.html") for p in inside), inside
    assert str(reports / "index.html") in inside
    # Inside the reports folder the name is in page text only, never in a file name.
    assert not [p for p in reports.rglob("*") if canary in p.name]

    outside = [p for p in _files(root) if reports not in p.parents]
    assert outside, "the run must have created files outside the reports folder"
    assert _holding(outside, canary.encode()) == []

    # Prefect: the server's database holds runs, logs, events and artifacts. Events are
    # written asynchronously; wait until this file's event is there, then look for the name.
    home = Path(os.environ["PREFECT_HOME"])
    receipt = next(reports.glob("*_receipt.csv"))
    with receipt.open(encoding="utf-8-sig", newline="") as handle:
        ref = next(csv.DictReader(handle))["file_ref"]
    deadline = time.monotonic() + 120
    while not _holding(_files(home), ref.encode()) and time.monotonic() < deadline:
        time.sleep(1)
    assert _holding(_files(home), ref.encode()), "the file's event never reached Prefect"
    assert _holding(_files(home), canary.encode()) == []
