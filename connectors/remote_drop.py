"""Remote agency drop folders (``drop_url``): poll, settle, claim, download, clean up.

An agency whose drop folder lives on an SFTP server is served by bringing each of its
files into the agency's *local* drop folder, where the ordinary intake takes over (settle,
claim, read, validate, package, report, ledger). Per file, in this order:

1. **Settle**: listed with the same size and mtime on two polls at least
   ``intake.stable_seconds`` apart (hidden names, ``~$`` Office temp files and our own
   temp names are never candidates).
2. **Claim**: a sidecar ``state/remote-intake/<token>.json`` is written (durable), then the
   remote file is renamed to ``.handoff-claimed/<token><suffix>`` on the server. The rename
   is the mutex: another poller that loses it sees FileNotFoundError and forgets the file.
3. **Download and verify**: into ``state/remote-intake/<token>.part`` (0600, fsync'd);
   the size must equal the claimed file's and the SHA-256 of what we wrote must equal the
   SHA-256 of the remote file read again. Then it is renamed into the local drop folder
   as ``<token><suffix>`` (never the agency's own name) and the sidecar records the hash.
4. **Remove**: the claimed remote copy is removed only once the ledger has a terminal
   state (delivered, rejected, duplicate) for that content hash.

A crash anywhere is completed by the next poll from the sidecars: a claim whose remote
copy is still in the claim area is downloaded again (unless the bytes are already in the
ledger or the local drop folder); one whose rename never happened is forgotten.

Receipts: every report the pipeline writes in ``agencies/<id>/reports/`` is uploaded
(temp then rename) to the agency's remote reports folder (``reports_url``, by default
the drop folder's sibling ``reports``), once each; ``state/remote-intake/<id>.reports``
lists what was sent.

Crash points (:mod:`hmis_handoff.failpoints`): ``remote-claimed`` (renamed on the server,
nothing downloaded) and ``remote-downloaded`` (in the local drop folder, sidecar not yet
updated).

Logs carry agency ids, tokens and counts; never the agency's file names.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit, urlunsplit

from connectors.remote_folder import TEMP_PREFIX, RemoteEntry, RemoteFolder
from connectors.sftp import SftpFolder
from hmis_handoff.config import AgencyConfig, Settings
from hmis_handoff.errors import RetriableError
from hmis_handoff.failpoints import failpoint
from hmis_handoff.fsutil import atomic_write_bytes, ensure_private_dir, fsync_dir

__all__ = [
    "CLAIM_AREA",
    "PollResult",
    "RemoteDropPoller",
    "TerminalCheck",
    "open_drop",
    "open_reports",
    "reports_url_for",
]

logger = logging.getLogger(__name__)

CLAIM_AREA = ".handoff-claimed"
_SUFFIX = re.compile(r"\.[a-z0-9]{1,10}")

# (sha256) -> True when the ledger has that content in a terminal state.
TerminalCheck = Callable[[str], bool]


def reports_url_for(agency: AgencyConfig) -> str:
    """The agency's remote reports folder: ``reports_url``, else the drop's sibling."""
    if agency.reports_url:
        return agency.reports_url
    parts = urlsplit(agency.drop_url)
    parent = PurePosixPath(parts.path or "/").parent
    return urlunsplit(parts._replace(path=str(parent / "reports")))


def _folder(settings: Settings, agency: AgencyConfig, url: str) -> SftpFolder:
    assert agency.key_file is not None and agency.known_hosts is not None  # validated
    return SftpFolder(
        url,
        key_file=settings.data_path(agency.key_file),
        known_hosts=settings.data_path(agency.known_hosts),
        timeout=settings.delivery.timeout_seconds,
    )


def open_drop(settings: Settings, agency: AgencyConfig) -> SftpFolder:
    """The agency's remote drop folder (not yet connected)."""
    return _folder(settings, agency, agency.drop_url)


def open_reports(settings: Settings, agency: AgencyConfig) -> SftpFolder:
    """The agency's remote reports folder (not yet connected)."""
    return _folder(settings, agency, reports_url_for(agency))


@dataclass
class PollResult:
    """Counts of one poll of one agency (no names)."""

    pending: int = 0
    claimed: int = 0
    downloaded: int = 0
    removed: int = 0
    receipts: int = 0


@dataclass
class RemoteDropPoller:
    """Brings one agency's remote files into its local drop folder, exactly once."""

    agency_id: str
    local_drop: Path
    local_reports: Path
    state_dir: Path
    stable_seconds: float
    ledger_has: TerminalCheck
    seen: dict[str, tuple[int, float, float]] = field(default_factory=dict)

    # Polling ------------------------------------------------------------------------

    def poll(self, drop: RemoteFolder, reports: RemoteFolder | None = None) -> PollResult:
        """One poll: finish earlier claims, claim settled files, push new receipts."""
        result = PollResult()
        ensure_private_dir(self.state_dir)
        self._finish_claims(drop, result)
        now = time.monotonic()
        listed = {e.name: e for e in drop.list() if self._candidate(e.name)}
        for name in list(self.seen):
            if name not in listed:
                del self.seen[name]
        for entry in listed.values():
            if self._settled(entry, now):
                self._claim(drop, entry, result)
            else:
                result.pending += 1
        if reports is not None:
            result.receipts = self.push_receipts(reports)
        return result

    @staticmethod
    def _candidate(name: str) -> bool:
        return not name.startswith((".", "~", TEMP_PREFIX))

    def _settled(self, entry: RemoteEntry, now: float) -> bool:
        previous = self.seen.get(entry.name)
        if previous is None or previous[:2] != (entry.size, entry.mtime):
            self.seen[entry.name] = (entry.size, entry.mtime, now)
            return False
        return now - previous[2] >= self.stable_seconds

    # Claim and download -------------------------------------------------------------

    def _sidecar(self, token: str) -> Path:
        return self.state_dir / f"{token}.json"

    def _claim(self, drop: RemoteFolder, entry: RemoteEntry, result: PollResult) -> None:
        token = secrets.token_hex(16)
        suffix = os.path.splitext(entry.name)[1].lower()
        suffix = suffix if _SUFFIX.fullmatch(suffix) else ""
        claimed = f"{CLAIM_AREA}/{token}{suffix}"
        sidecar = {
            "agency_id": self.agency_id,
            "token": token,
            "suffix": suffix,
            "size": entry.size,
            "state": "claiming",
        }
        atomic_write_bytes(self._sidecar(token), json.dumps(sidecar).encode())
        drop.makedirs(CLAIM_AREA)
        try:
            drop.rename(entry.name, claimed)
        except FileNotFoundError:
            self._sidecar(token).unlink(missing_ok=True)  # another poller won, or it was removed
            self.seen.pop(entry.name, None)
            return
        self.seen.pop(entry.name, None)
        failpoint("remote-claimed")
        result.claimed += 1
        logger.info("agency %s: remote file claimed as %s", self.agency_id, token)
        self._download(drop, sidecar, result)

    def _download(self, drop: RemoteFolder, sidecar: dict[str, object], result: PollResult) -> None:
        token, suffix = str(sidecar["token"]), str(sidecar["suffix"])
        claimed = f"{CLAIM_AREA}/{token}{suffix}"
        part = self.state_dir / f"{token}.part"
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                size, sha = drop.download(claimed, handle)
                handle.flush()
                os.fsync(handle.fileno())
            entry = drop.stat(claimed)
            if entry is None or entry.size != size or drop.sha256(claimed) != (size, sha):
                raise RetriableError("downloaded file does not verify (size or SHA-256)")
            local = self.local_drop / f"{token}{suffix}"
            if not self.ledger_has(sha) and not local.exists():
                ensure_private_dir(self.local_drop)
                os.replace(part, local)
                fsync_dir(self.local_drop)
            failpoint("remote-downloaded")
            sidecar = {**sidecar, "state": "downloaded", "sha256": sha}
            atomic_write_bytes(self._sidecar(token), json.dumps(sidecar).encode())
            result.downloaded += 1
        finally:
            part.unlink(missing_ok=True)

    def _finish_claims(self, drop: RemoteFolder, result: PollResult) -> None:
        """Complete what earlier polls (or a crashed process) left half done."""
        for path in sorted(self.state_dir.glob("*.json")):
            try:
                sidecar = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if sidecar.get("agency_id") != self.agency_id:
                continue
            token, suffix = str(sidecar["token"]), str(sidecar["suffix"])
            claimed = f"{CLAIM_AREA}/{token}{suffix}"
            if sidecar.get("state") == "claiming":
                if drop.stat(claimed) is None:
                    path.unlink(missing_ok=True)  # the rename never happened
                else:
                    self._download(drop, sidecar, result)
                continue
            if self.ledger_has(str(sidecar["sha256"])):
                drop.remove(claimed)
                path.unlink(missing_ok=True)
                result.removed += 1

    # Receipts -----------------------------------------------------------------------

    def push_receipts(self, reports: RemoteFolder) -> int:
        """Upload reports not sent yet; returns how many were sent."""
        record = self.state_dir / f"{self.agency_id}.reports"
        sent = set(record.read_text(encoding="utf-8").split()) if record.exists() else set()
        count = 0
        for path in sorted(self.local_reports.glob("*")) if self.local_reports.is_dir() else []:
            if not path.is_file() or path.name in sent or path.name.startswith("."):
                continue
            reports.upload(path, path.name)
            sent.add(path.name)
            count += 1
            atomic_write_bytes(record, "\n".join(sorted(sent)).encode())
        return count
