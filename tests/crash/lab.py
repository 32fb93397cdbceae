"""Crash-lab helpers: a data root, inputs with known fates, the fork-server client, the
invariants every crash scenario must end in, and a snapshot to prove a re-run is a no-op."""

from __future__ import annotations

import csv
import hashlib
import inspect
import io
import json
import os
import re
import secrets
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from connectors.dropfolder import pending_claims
from hmis_handoff.config import load_settings
from hmis_handoff.crypto.age import decrypt_file, parse_identities_file
from hmis_handoff.crypto.package import verify_and_decrypt
from hmis_handoff.crypto.signing import VerifyKey
from hmis_handoff.ledger import FileState, Ledger
from hmis_handoff.workarea import CLAIM_SIDECAR_SUFFIX
from tests.packages import intake_text
from tests.synthetic import make_valid_frame
from usecases.handoff import STALE_TEMP_SECONDS
from usecases.initialise import initialise

REPO_ROOT = Path(__file__).resolve().parents[2]
AGENCY = "demo-agency"
PARTNER = "demo-partner"
# pending_claims' default orphan grace (what Handoff.recover uses), read from its signature.
ORPHAN_GRACE_SECONDS = float(
    inspect.signature(pending_claims).parameters["orphan_grace_seconds"].default
)
CANARY_RE = re.compile(rb"Cnry[0-9a-f]{10}")

Kind = Literal["valid", "mixed", "invalid", "junk", "not_sent"]
# What the pipeline must make of each kind (for the first copy of its content).
EXPECTED_STATE: dict[str, str] = {
    "valid": FileState.DELIVERED,
    "mixed": FileState.DELIVERED,
    # Answered and tracked, but no row left the agency: never "delivered" (issue 13).
    "not_sent": FileState.NOT_SENT,
    "invalid": FileState.REJECTED,
    "junk": FileState.REJECTED,
}


def make_root(base: Path, stable_seconds: float = 0.05) -> Path:
    """A demo data root (keys, agency, partner) with a short settle window."""
    root = base / "data"
    initialise(root, demo=True)
    config = root / "handoff.toml"
    text = config.read_text(encoding="utf-8")
    assert "stable_seconds = 2.0" in text
    config.write_text(
        text.replace("stable_seconds = 2.0", f"stable_seconds = {stable_seconds}"),
        encoding="utf-8",
    )
    return root


def age_past_grace(root: Path) -> int:
    """Back-date every file outside the drop folders past production's recovery grace.

    What the passing of time does to what a killed run left behind (temp files, orphan claim
    sidecars and locks; an orphan sidecar's recorded claim time too), so the next run's
    :meth:`Handoff.recover`, with its production grace periods, may remove them. Drop
    folders are left alone (their times drive the settle window). Returns how many files
    were back-dated.
    """
    past = time.time() - max(STALE_TEMP_SECONDS, ORPHAN_GRACE_SECONDS) - 60
    aged = 0
    work = root / "work"
    for sidecar in work.glob("*" + CLAIM_SIDECAR_SUFFIX):
        if sidecar.name.startswith("."):
            continue  # a temp file (back-dated below), not a sidecar
        # An orphan sidecar's age is its recorded claim time, not its mtime. Live claims
        # (file present) keep theirs: it is the received time the ledger records.
        payload = json.loads(sidecar.read_text(encoding="utf-8"))
        claim_id = sidecar.name.removesuffix(CLAIM_SIDECAR_SUFFIX)
        if not (work / f"{claim_id}{payload['suffix']}").exists():
            payload["claimed_at"] = datetime.fromtimestamp(past, UTC).isoformat()
            sidecar.write_text(json.dumps(payload), encoding="utf-8")
    for path in _files(root):
        if path.is_symlink() or "drop" in path.relative_to(root).parts:
            continue
        os.utime(path, (past, past))
        aged += 1
    return aged


def canary() -> str:
    return "Cnry" + secrets.token_hex(5)


@dataclass(frozen=True)
class Content:
    """One file's bytes, what it should become, and the rows a package must hold."""

    data: bytes
    kind: Kind
    sent_rows: tuple[tuple[str, ...], ...]  # header first; empty if nothing is sent
    canaries: tuple[str, ...]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class Inputs:
    """Everything dropped into one data root, in drop order."""

    root: Path
    dropped: list[tuple[str, Content]] = field(default_factory=list)
    next_row: int = 0

    @property
    def drop_dir(self) -> Path:
        return self.root / "agencies" / AGENCY / "drop"

    def make(self, kind: Kind, rows: int = 2) -> Content:
        """New content of ``kind`` whose rows are unique across the whole lab."""
        if kind == "junk":
            mark = canary()
            return Content(os.urandom(64) + mark.encode() + os.urandom(32), kind, (), (mark,))
        frame = make_valid_frame(rows, start=self.next_row)
        self.next_row += rows
        frame["FirstName"] = [canary() for _ in range(rows)]
        frame["CollectedByUser"] = [canary() for _ in range(rows)]
        bad: set[int] = set()
        if kind == "invalid":
            bad = set(range(rows))
        elif kind == "mixed":
            bad = {rows - 1}
        for index in bad:
            frame.loc[index, "SSN"] = "12"
        if kind == "not_sent":
            frame["ROIConsent"] = "0"
            frame["ROISignedDate"] = ""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        header = tuple(str(c) for c in frame.columns)
        writer.writerow(header)
        body = [tuple(str(v) for v in row) for row in frame.itertuples(index=False)]
        writer.writerows(body)
        sent: tuple[tuple[str, ...], ...] = ()
        if kind in ("valid", "mixed"):
            sent = (header, *(row for i, row in enumerate(body) if i not in bad))
        marks = tuple(frame["FirstName"]) + tuple(frame["CollectedByUser"])
        return Content(buffer.getvalue().encode("utf-8"), kind, sent, marks)

    def drop(self, name: str, content: Content) -> None:
        """Write ``content`` under ``name`` (the name must be free)."""
        path = self.drop_dir / name
        assert not path.exists(), "the test must never overwrite an unclaimed drop"
        path.write_bytes(content.data)
        self.dropped.append((name, content))

    def contents(self) -> list[Content]:
        return [content for _name, content in self.dropped]


# The fork server -------------------------------------------------------------------------


@dataclass(frozen=True)
class RunResult:
    exit: int
    killed: bool
    seconds: float


class ForkServer:
    """Client of ``python -m tests.crash.driver --serve`` (one warm process, many children)."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.crash.driver", "--serve"],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        )
        assert self._read() == {"ready": True}, self.log()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(f"crash driver server died:\n{self.log()}")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-6000:]

    def run(
        self,
        root: Path,
        *,
        failpoint: str | None = None,
        skip: int = 0,
        kill_after: float | None = None,
        time_limit: float = 300.0,
    ) -> RunResult:
        request = {
            "root": str(root),
            "failpoint": failpoint,
            "skip": skip,
            "kill_after": kill_after,
            "time_limit": time_limit,
        }
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        reply = self._read()
        return RunResult(int(reply["exit"]), bool(reply["killed"]), float(reply["seconds"]))

    def clean_run(self, root: Path, *, time_limit: float = 300.0) -> RunResult:
        """A run without a failpoint that must finish the work (exit 0).

        ``time_limit`` only guards against a hang: the run stops there (exit 3) even while
        it is making progress, so a run with hundreds of files waiting on a loaded machine
        needs more than the default.
        """
        result = self.run(root, time_limit=time_limit)
        assert result.exit == 0, f"clean run exited {result.exit}:\n{self.log()}"
        return result

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        finally:
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self._log.close()


# Invariants ------------------------------------------------------------------------------


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() or p.is_symlink())


def snapshot(root: Path) -> dict[str, Any]:
    """Every file (path, size, SHA-256) except the ledger's own files, plus a ledger dump."""
    listing = {}
    for path in _files(root):
        rel = path.relative_to(root).as_posix()
        if rel.startswith("state/ledger.db"):
            continue
        listing[rel] = (path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest())
    with sqlite3.connect(root / "state" / "ledger.db") as db:
        dump = list(db.iterdump())
    return {"files": listing, "ledger": dump}


def check_invariants(root: Path, inputs: Inputs, tmp: Path) -> None:
    """Every dropped file is in exactly one terminal place, with exactly one ledger row."""
    settings = load_settings(root / "handoff.toml")
    ledger = Ledger(settings.ledger_url, migrate=False)
    try:
        rows = ledger.files()
    finally:
        ledger.close()
    contents = {c.sha256: c for c in inputs.contents()}

    # Nothing left in flight, nothing half-written.
    waiting = sorted(os.listdir(inputs.drop_dir))
    assert waiting == [], f"drop folder not empty: {len(waiting)} files"
    in_work = sorted(os.listdir(root / "work"))
    assert in_work == [], f"work area not empty: {in_work}"
    temps = [p for p in _files(root) if p.name.startswith(".tmp-")]
    assert temps == [], f"temp files left: {temps}"

    # Exactly one ledger row per dropped file; the same multiset of contents.
    assert len(rows) == len(inputs.dropped), (len(rows), len(inputs.dropped))
    assert Counter(r.sha256 for r in rows) == Counter(c.sha256 for c in inputs.contents())

    # Per content: exactly one live row, in the state its kind calls for; the rest duplicates.
    # A refused content is judged again each time it is sent: every row of it is rejected.
    live = {}
    for sha, count in Counter(r.sha256 for r in rows).items():
        mine = [r for r in rows if r.sha256 == sha]
        originals = [r for r in mine if r.state != FileState.DUPLICATE]
        if EXPECTED_STATE[contents[sha].kind] == FileState.REJECTED:
            assert originals == mine, (sha[:12], [r.state for r in mine])
            live[sha] = originals[0]
            assert all(r.state == FileState.REJECTED for r in mine), [r.state for r in mine]
            continue
        assert len(originals) == 1, (sha[:12], [r.state for r in mine])
        original = originals[0]
        live[sha] = original
        assert original.state == EXPECTED_STATE[contents[sha].kind], (
            contents[sha].kind,
            original.state,
        )
        assert all(r.duplicate_of == original.id for r in mine if r is not original)
        assert len(mine) == count

    _check_packages(root, live, contents, tmp)
    _check_originals(root, live, contents, tmp)
    _check_reports(root, rows, live)
    _check_no_plaintext(root, inputs)


def _check_packages(
    root: Path, live: dict[str, Any], contents: dict[str, Content], tmp: Path
) -> None:
    outbox = root / "partners" / PARTNER / "outbox"
    expected = {r.package_id: contents[sha] for sha, r in live.items() if contents[sha].sent_rows}
    assert all(pid is not None for pid in expected)
    assert all(r.package_id is None for sha, r in live.items() if not contents[sha].sent_rows), (
        "a package for a file that sends nothing"
    )
    names = sorted(p.name for p in outbox.iterdir())
    wanted = sorted(
        f"{pid}{suffix}"
        for pid in expected
        for suffix in (".age", ".manifest.json", ".manifest.json.sig")
    )
    assert names == wanted, "outbox holds exactly one complete package per delivered content"
    identities = parse_identities_file(root / "demo-keys" / f"{PARTNER}.key")
    signer = VerifyKey.parse((root / "state" / "signing.pub").read_text(encoding="utf-8").strip())
    for package_id, content in expected.items():
        out = tmp / f"{package_id}.csv"
        manifest = verify_and_decrypt(
            outbox / f"{package_id}.age",
            out,
            identities=identities,
            trusted_signers=[signer],
            overwrite=True,
        )
        got = tuple(tuple(row) for row in csv.reader(io.StringIO(intake_text(out), newline="")))
        out.unlink()
        assert got == content.sent_rows, f"package {package_id} rows differ from the input"
        assert manifest.record_count == len(content.sent_rows) - 1


def _check_originals(
    root: Path, live: dict[str, Any], contents: dict[str, Content], tmp: Path
) -> None:
    """One encrypted original per live content: archive/ if delivered, quarantine/ if not."""
    identities = parse_identities_file(root / "keys" / "coc-archive.key")
    where: dict[str, set[str]] = {"archive": set(), "quarantine": set()}
    for sha, row in live.items():
        folder = (
            "archive" if row.state in (FileState.DELIVERED, FileState.NOT_SENT) else "quarantine"
        )
        [path] = list((root / folder).glob(f"*-{row.ref}.csv.age"))
        where[folder].add(path.name)
        out = tmp / "original"
        decrypt_file(path, out, identities, overwrite=True)
        assert out.read_bytes() == contents[sha].data
        out.unlink()
    for folder, names in where.items():
        assert sorted(os.listdir(root / folder)) == sorted(names), f"stray files in {folder}/"


def _check_reports(root: Path, rows: list[Any], live: dict[str, Any]) -> None:
    reports = root / "agencies" / AGENCY / "reports"
    present = set(os.listdir(reports))

    def has(ref: str, kind: str) -> bool:
        # A duplicate notice's name ends in a per-copy id: _<ref>_duplicate-<8 hex>.
        named = re.compile(rf".*_{ref}_{kind}(-[0-9a-f]{{8}})?\.(csv|html)")
        found = {m.group(2) for n in present if (m := named.fullmatch(n))}
        return found == {"csv", "html"}

    for row in live.values():
        kind = "receipt" if row.state == FileState.DELIVERED and row.rows_sent else "rejected"
        assert has(row.ref, kind), f"no {kind} report for {row.ref}"
    missing = [
        r.ref for r in rows if r.state == FileState.DUPLICATE and not has(r.ref, "duplicate")
    ]
    assert missing == [], f"duplicates without a notice: {missing}"


def _check_no_plaintext(root: Path, inputs: Inputs) -> None:
    """No planted canary anywhere under the root but the drop folders (empty by now)."""
    planted = {m.encode() for c in inputs.contents() for m in c.canaries}
    for path in _files(root):
        if path.is_symlink() or "drop" in path.relative_to(root).parts:
            continue
        found = set(CANARY_RE.findall(path.read_bytes())) & planted
        assert not found, f"plaintext intake data in {path.relative_to(root)}"
