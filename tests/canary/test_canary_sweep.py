"""Whole-system canary sweep: every planted value, searched in every byte the system wrote.

The full embedded stack runs as an operator starts it (``handoff up`` as a subprocess, its
own Prefect server, served deployments, the watcher), with loopback notifications: a real
aiosmtpd SMTP server and an HTTP webhook sink. Into the agency's folder go a good CSV, a
good XLSX, a partly bad CSV, an all-bad CSV, a re-send (duplicate), a binary file named
``.csv`` (rejected) and a PDF (refused by the scanner): every free-text cell, SSN, DOB and
file name is a unique marker. The partner's confirmation file (its name a marker too) is
read by the ``confirmations`` deployment and a ``deadline-check`` run far in the future
makes every record overdue, so notifications go out. After a clean stop, the sweep
(``tests/canary/sweep.py``) reads: the data root but the drop folders (Prefect's home
inside it: its SQLite database value by value, logs, result storage), the process's
``HOME`` and ``TMPDIR``, its console output, the Prefect API's logs, events and artifacts,
every e-mail and every webhook body; JSON escapes, base64 and pickles decoded.

``HANDOFF_TEST_PLANT_LEAK=1`` makes production log one cell value; the second test shows
the same sweep then fails. This replaces the narrow Prefect check ``tests/stack/test_up.py``
used to end with (four columns of one file, raw bytes of ``state/prefect`` only).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from aiosmtpd.controller import Controller

from tests.canary.sweep import Hit, Sweep, sqlite_tables
from tests.conftest import run_cli
from tests.reconcile.support import Export, Person
from tests.server_runs import flow_runs, post
from tests.stack.prefect_server import free_port
from tests.stack.test_up import UI_LINE, Stack

AGENCY, PARTNER = "demo-agency", "demo-partner"
# Free-text columns: each cell becomes a marker. SSN and DOB get unique values too.
TEXT_COLUMNS = ("FirstName", "MiddleName", "LastName", "CollectedByUser")
FAR_FUTURE = "2099-01-05"
FINAL_STATES = ("delivered", "duplicate", "rejected", "not_sent")


def marker() -> str:
    return "Cnry" + secrets.token_hex(6)


@dataclass
class Planted:
    """Every marker planted, and the files built from the demo sample."""

    markers: set[str] = field(default_factory=set)
    used_ssns: set[str] = field(default_factory=set)

    def mark(self) -> str:
        value = marker()
        self.markers.add(value)
        return value

    def ssn(self) -> str:
        while True:  # valid form: area 700-764, group and serial not zero; unique
            value = f"{secrets.randbelow(65) + 700}{secrets.randbelow(98) + 1:02d}"
            value += f"{secrets.randbelow(9998) + 1:04d}"
            if value not in self.used_ssns:
                self.used_ssns.add(value)
                self.markers.add(value)
                return value

    def dob(self, year: str) -> str:
        """A day in ``year`` (so a child stays a child), unique in this run."""
        while True:
            value = f"{year}-{secrets.randbelow(12) + 1:02d}-{secrets.randbelow(28) + 1:02d}"
            if value not in self.markers:
                self.markers.add(value)
                return value

    def rows(self, sample: list[dict[str, str]]) -> list[dict[str, str]]:
        """The sample's rows (same validity) with every free text, SSN and DOB a marker.

        IntakeIDs and HouseholdIDs get a per-file tag: an id already delivered would be
        refused (INTAKE-ID-ALREADY-SENT), which is not what a file here is meant to test.
        """
        tag = secrets.token_hex(3).upper()
        out = []
        for row in sample:
            new = dict(row)
            new["IntakeID"] = row["IntakeID"].replace("DEMO", f"T{tag}")
            new["HouseholdID"] = row["HouseholdID"].replace("DEMO", f"T{tag}")
            for column in TEXT_COLUMNS:
                new[column] = self.mark()
            if row["SSN"] and row["SSN"].isdigit() and len(row["SSN"]) == 9:
                new["SSN"] = self.ssn()
                if row["SSN"].startswith("666"):  # the sample's never-issued area stays so
                    new["SSN"] = "666" + new["SSN"][3:]
                    self.markers.add(new["SSN"])
            if row["DOB"]:
                new["DOB"] = self.dob(row["DOB"][:4])
            out.append(new)
        return out


def _csv_bytes(rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _xlsx_bytes(rows: list[dict[str, str]], path: Path) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(rows[0]))
    for row in rows:
        sheet.append(list(row.values()))
    book.save(path)
    return path.read_bytes()


@dataclass
class Sinks:
    """A real SMTP server and an HTTP webhook sink on loopback, recording raw bytes."""

    smtp_port: int
    webhook_url: str
    mails: list[bytes] = field(default_factory=list)
    hooks: list[bytes] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append(bytes(envelope.original_content))
        return "250 OK"


@pytest.fixture()
def sinks() -> Iterator[Sinks]:
    hook_port = free_port()
    sink = Sinks(free_port(), f"http://127.0.0.1:{hook_port}/hook")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            sink.hooks.append(self.rfile.read(length))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", hook_port), Handler)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    smtp = Controller(sink, hostname="127.0.0.1", port=sink.smtp_port)
    smtp.start()
    try:
        yield sink
    finally:
        smtp.stop()
        http.shutdown()
        http.server_close()
        thread.join(timeout=5)


def _wait(predicate: Any, timeout: float, what: str, scene: Scene | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    detail = ""
    if scene is not None:  # file names under the root are ours (ids); the console is
        listing = sorted(  # searched for markers afterwards, not shown here
            p.relative_to(scene.root).as_posix()
            for p in scene.root.rglob("*")
            if "drop" not in p.parts and "prefect" not in p.parts
        )
        detail = "\n".join(listing)
    raise AssertionError(f"timed out waiting for {what}\n{detail}")


def _configure(root: Path, sinks: Sinks) -> None:
    config = root / "handoff.toml"
    text = config.read_text(encoding="utf-8")
    # Whole lines only: the Prefect port (drawn at random) may itself begin with "25".
    for old, new in (
        ('webhook_url = ""', f'webhook_url = "{sinks.webhook_url}"'),
        ('host = ""', 'host = "127.0.0.1"'),
        ("port = 25", f"port = {sinks.smtp_port}"),
        ("to = []", 'to = ["ce-lead@test.invalid"]'),
    ):
        line = re.compile(rf"^{re.escape(old)}$", re.MULTILINE)
        assert line.search(text), old
        text = line.sub(lambda _, repl=new: repl, text, count=1)
    config.write_text(text, encoding="utf-8")


@dataclass
class Scene:
    root: Path
    home: Path
    tmpdir: Path
    stack: Stack
    planted: Planted
    api: str = ""


def _start(tmp_path: Path, sinks: Sinks, *, leak: bool) -> Scene:
    port = free_port()
    root = tmp_path / "data"
    run_cli("init", str(root), "--demo", "--port", str(port))
    _configure(root, sinks)
    home, tmpdir = tmp_path / "home", tmp_path / "tmpdir"
    home.mkdir()
    tmpdir.mkdir()
    env = {"HOME": str(home), "TMPDIR": str(tmpdir)}
    if leak:
        env["HANDOFF_TEST_PLANT_LEAK"] = "1"
    stack = Stack(root, port, env=env)
    scene = Scene(root, home, tmpdir, stack, Planted())
    line = stack.wait_for_line(UI_LINE, timeout=240)
    scene.api = line.split(UI_LINE, 1)[1].strip() + "/api"
    return scene


def _drop(scene: Scene, name: str, data: bytes) -> None:
    """As a careful uploader does: a temp name outside the pattern, then a rename."""
    drop = scene.root / "agencies" / AGENCY / "drop"
    temp = drop / f"{name}.part"
    temp.write_bytes(data)
    os.rename(temp, drop / name)


def _sample(root: Path) -> list[dict[str, str]]:
    with (root / "samples" / "demo-intake.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _run_deployment(api: str, flow: str, name: str, parameters: dict[str, Any]) -> None:
    """Start a run of a served deployment through the API and wait for it to complete."""
    deployment = post(api, "/deployments/filter", {"deployments": {"name": {"any_": [name]}}})
    [target] = [d for d in deployment if d["name"] == name]
    run = post(api, f"/deployments/{target['id']}/create_flow_run", {"parameters": parameters})

    def done() -> bool:
        state = post(api, "/flow_runs/filter", {"flow_runs": {"id": {"any_": [run["id"]]}}})
        kind = state[0]["state_type"]
        assert kind not in ("FAILED", "CRASHED"), f"{flow} run ended {kind}"
        return bool(kind == "COMPLETED")

    _wait(done, 180, f"the {name} run")


def _api_dump(api: str) -> bytes:
    """Logs, events and artifacts as the Prefect API hands them out (raw JSON)."""
    parts = [
        post(api, "/logs/filter", {"limit": 200}),
        post(api, "/events/filter", {"limit": 50}),
        post(api, "/artifacts/filter", {"limit": 200}),
        post(api, "/flow_runs/filter", {"limit": 200}),
    ]
    return json.dumps(parts).encode()


def _shown_to_its_agency(scene: Scene, hit: Hit, names: set[str]) -> bool:
    """The agency's own file name, inside that agency's reports folder: its receipts and
    index show it on purpose (the one place it may appear; never in a file name there)."""
    reports = f"{scene.root.name}/agencies/{AGENCY}/reports/"
    return hit.marker in names and hit.where.startswith(reports)


def _sweep(
    scene: Scene, sinks: Sinks, api_dump: bytes, names: set[str] | None = None
) -> tuple[list[Hit], dict[str, int]]:
    """Every hit of a planted value; ``names`` are the markers in the agency's file names."""
    sweep = Sweep(scene.planted.markers)
    drops = [scene.root / "agencies" / a.name / "drop" for a in (scene.root / "agencies").iterdir()]
    hits, data_files = sweep.scan_tree(scene.root, skip=drops)
    home_hits, home_files = sweep.scan_tree(scene.home)
    tmp_hits, tmp_files = sweep.scan_tree(scene.tmpdir)
    hits += home_hits + tmp_hits
    hits += sweep.scan_text("".join(scene.stack.output), "the console of handoff up")
    hits += sweep.scan(api_dump, "the Prefect API (logs, events, artifacts, runs)")
    for number, raw in enumerate(sinks.mails):
        hits += sweep.scan(raw, f"e-mail {number}")
        message = message_from_bytes(raw, policy=policy.default)
        for part in message.walk():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                hits += sweep.scan(payload, f"e-mail {number} part {part.get_content_type()}")
    for number, body in enumerate(sinks.hooks):
        hits += sweep.scan(body, f"webhook body {number}")
    counts = {"data": data_files, "home": home_files, "tmp": tmp_files}
    return [h for h in hits if not _shown_to_its_agency(scene, h, names or set())], counts


def _stop(scene: Scene) -> None:
    assert scene.stack.stop(timeout=180) == 0, "".join(scene.stack.output)[-3000:]
    assert "HMIS Handoff stopped." in "".join(scene.stack.output)


@pytest.mark.server
@pytest.mark.slow
def test_no_planted_value_anywhere_the_system_wrote(tmp_path: Path, sinks: Sinks) -> None:
    scene = _start(tmp_path, sinks, leak=False)
    try:
        planted, sample = scene.planted, _sample(scene.root)
        valid = [r for r in sample if r["IntakeID"] in ("DEMO-0001", "DEMO-0002", "DEMO-0003")]
        files: dict[str, bytes] = {}
        good_rows = planted.rows(valid)
        good = _csv_bytes(good_rows)
        files[f"{planted.mark()}-good.csv"] = good
        files[f"{planted.mark()}-again.csv"] = good  # a re-send: answered as a duplicate
        files[f"{planted.mark()}-partly-bad.csv"] = _csv_bytes(planted.rows(sample))
        bad = planted.rows(sample[:2])
        for row in bad:
            row["SSN"] = planted.mark()[:8]  # not an SSN: every row refused
            planted.markers.add(row["SSN"])
        files[f"{planted.mark()}-all-bad.csv"] = _csv_bytes(bad)
        junk = os.urandom(200) + planted.mark().encode() + os.urandom(200)
        files[f"{planted.mark()}-binary.csv"] = junk
        files[f"{planted.mark()}.pdf"] = b"%PDF-1.4\n" + planted.mark().encode() + b"\n%%EOF\n"
        xlsx_rows = [r for r in sample if r["IntakeID"] in ("DEMO-0004", "DEMO-0007")]
        files[f"{planted.mark()}-good.xlsx"] = _xlsx_bytes(
            planted.rows(xlsx_rows), tmp_path / "book.xlsx"
        )
        for name, data in files.items():
            _drop(scene, name, data)

        outbox = scene.root / "partners" / PARTNER / "outbox"
        drop = scene.root / "agencies" / AGENCY / "drop"
        _wait(lambda: len(list(outbox.glob("*.sig"))) == 3, 180, "three packages", scene)
        _wait(lambda: not list(drop.iterdir()), 120, "the drop folder to empty")
        # An empty drop folder means every file is claimed, not that every claim is recorded:
        # wait until the ledger holds an outcome for each of the six files the scanner reads.
        states: dict[str, int] = {}

        def recorded() -> bool:
            status = json.loads(run_cli("status", "--config", str(scene.root / "handoff.toml"),
                                        "--json").stdout)  # fmt: skip
            states.clear()
            states.update({row["state"]: row["count"] for row in status["files"]})
            return sum(n for s, n in states.items() if s in FINAL_STATES) >= 6

        _wait(recorded, 180, "an outcome for every file", scene)
        assert states == {"delivered": 3, "duplicate": 1, "rejected": 2}, states

        # The partner confirms one record, in a file whose name is a marker.
        inbox = scene.root / "partners" / PARTNER / "confirmations"
        confirmation = inbox / f"{planted.mark()}-confirm.csv"
        confirmation.write_bytes(
            "\ufeffIntakeID,AgencyID,PersonalID,DateEntered\r\n"
            f"{good_rows[0]['IntakeID']},{AGENCY},HMIS-77,{valid[0]['IntakeDate']}\r\n".encode()
        )
        # And drops an HMIS export (its name a marker) of marker clients, where one DOB and
        # one SSNDataQuality are markers our HMIS CSV model refuses (pandera quotes failing
        # values in its failure cases: they must stop at the rule id, row and column).
        export = Export()
        for number in range(3):
            person = Person(planted.mark(), planted.mark(), planted.dob("1980"), planted.ssn())
            export.client(f"P{number}", person)
        export.clients[0]["DOB"] = planted.mark()
        export.clients[1]["SSNDataQuality"] = planted.mark()
        export.enrollment("P2", valid[0]["IntakeDate"], "2026-12-02 09:00:00")
        export.write_zip(inbox / f"{planted.mark()}-export.zip")
        _run_deployment(scene.api, "confirmations", "confirmations", {})
        _run_deployment(scene.api, "deadline-check", "deadline-check", {"as_of": FAR_FUTURE})
        _wait(lambda: sinks.mails and sinks.hooks, 120, "an e-mail and a webhook call")
        reports = inbox / "reports"
        _wait(lambda: list(reports.glob("*-reconcile-report.csv")), 120, "the export's report")
        (report,) = reports.glob("*-reconcile-report.csv")
        listed = report.read_text(encoding="utf-8-sig")
        assert "EXPORT-ROW-DATE" in listed and "EXPORT-ROW-CODE" in listed, listed
        assert flow_runs(scene.api, "ingest"), "ingest runs on the stack's own server"
        api_dump = _api_dump(scene.api)
    finally:
        _stop(scene)

    names = {m for m in planted.markers if any(m in name for name in files)}
    hits, counts = _sweep(scene, sinks, api_dump, names)
    assert hits == [], "planted values found:\n" + "\n".join(map(str, hits[:40]))
    # The agency does see its own file names: in its receipts index, and nowhere else.
    index = (scene.root / "agencies" / AGENCY / "reports" / "index.html").read_text()
    assert names and all(m in index for m in names), "the receipts index names each file"

    # The sweep saw what it claims to: Prefect's database with runs, logs and events in it.
    prefect_db = scene.root / "state" / "prefect" / "prefect.db"
    assert prefect_db.is_file(), sorted(p.name for p in prefect_db.parent.iterdir())
    tables = sqlite_tables(prefect_db)
    assert tables["flow_run"] >= 3 and tables["log"] > 0, tables
    assert tables["events"] > 0 and tables["artifact"] > 0, tables
    assert sqlite_tables(scene.root / "state" / "ledger.db")["intake_record"] > 0
    assert counts["data"] > 30, counts
    assert len(scene.planted.markers) > 60


@pytest.mark.server
@pytest.mark.slow
def test_a_planted_leak_makes_the_sweep_fail(tmp_path: Path, sinks: Sinks) -> None:
    scene = _start(tmp_path, sinks, leak=True)
    try:
        rows = scene.planted.rows(_sample(scene.root)[:1])
        _drop(scene, f"{scene.planted.mark()}.csv", _csv_bytes(rows))
        outbox = scene.root / "partners" / PARTNER / "outbox"
        _wait(lambda: len(list(outbox.glob("*.sig"))) == 1, 180, "the package")
        api_dump = _api_dump(scene.api)
    finally:
        _stop(scene)
    names = {m for m in scene.planted.markers if m not in {v for r in rows for v in r.values()}}
    hits, _counts = _sweep(scene, sinks, api_dump, names)
    leaked = rows[0]["FirstName"]
    assert any(h.marker == leaked and "console" in h.where for h in hits), hits
    assert {h.marker for h in hits} == {leaked}, "only the planted leak"
