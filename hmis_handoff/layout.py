"""The runtime tree under the data root (DESIGN.md "Runtime layout").

::

    agencies/<agency>/drop/            agency drops files here (the watched folder)
    agencies/<agency>/reports/         receipts and rejection reports for that agency
    partners/<partner>/outbox/         <package>.age + <package>.manifest.json + .sig
    partners/<partner>/confirmations/  partner drops confirmation CSVs / HMIS exports
    work/  quarantine/  archive/       claimed files in flight; encrypted originals
    state/                             ledger.db, signing key, Prefect home and server log,
                                       remote-intake/, overdue-notice.json
    keys/                              record HMAC key, CoC archive identity (move it off)

Directories are 0700; every file we create is 0600. What the files in ``work/``,
``quarantine/``, ``archive/`` and ``keys/`` are called is :mod:`hmis_handoff.workarea`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hmis_handoff.errors import ConfigError
from hmis_handoff.fsutil import ensure_private_dir
from hmis_handoff.workarea import RECORD_HMAC_KEY

__all__ = ["Layout"]


@dataclass(frozen=True)
class Layout:
    """Paths of the runtime tree; pure path arithmetic except :meth:`create`."""

    root: Path

    @property
    def agencies(self) -> Path:
        return self.root / "agencies"

    def agency_drop(self, agency_id: str) -> Path:
        return self.agencies / agency_id / "drop"

    def agency_reports(self, agency_id: str) -> Path:
        return self.agencies / agency_id / "reports"

    def partner_outbox(self, partner_id: str) -> Path:
        return self.root / "partners" / partner_id / "outbox"

    def partner_confirmations(self, partner_id: str) -> Path:
        return self.root / "partners" / partner_id / "confirmations"

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def prefect_home(self) -> Path:
        return self.state / "prefect"

    @property
    def prefect_server_log(self) -> Path:
        return self.state / "prefect-server.log"

    @property
    def remote_intake_state(self) -> Path:
        """Remote drop folders' claim records (connectors/remote_drop.py)."""
        return self.state / "remote-intake"

    @property
    def overdue_notice_memory(self) -> Path:
        """The last overdue notice sent (hmis_handoff/escalation.py)."""
        return self.state / "overdue-notice.json"

    @property
    def signing_key(self) -> Path:
        return self.state / "signing.key"

    @property
    def signing_public_key(self) -> Path:
        return self.state / "signing.pub"

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def hmac_key(self) -> Path:
        # Not in state/: a copy of the ledger must not carry the key that opens its
        # hashes (hmis_handoff/record_key.py).
        return self.keys / RECORD_HMAC_KEY

    def create(self, agency_ids: Iterable[str], partner_ids: Iterable[str]) -> None:
        """Create every directory (0700), tightening modes of existing ones."""
        ensure_private_dir(self.root)
        for directory in (self.work, self.quarantine, self.archive, self.state, self.prefect_home):
            _refuse_link(directory)
            ensure_private_dir(directory)
        for agency_id in agency_ids:
            for directory in (self.agency_drop(agency_id), self.agency_reports(agency_id)):
                _refuse_link(directory.parent)
                _refuse_link(directory)
                ensure_private_dir(directory)
        for partner_id in partner_ids:
            for directory in (
                self.partner_outbox(partner_id),
                self.partner_confirmations(partner_id),
            ):
                _refuse_link(directory.parent)
                _refuse_link(directory)
                ensure_private_dir(directory)


def _refuse_link(path: Path) -> None:
    """Never create or chmod through a folder that was swapped for a symlink."""
    if path.is_symlink():
        raise ConfigError("a folder under the data root is a symlink; replace it with a directory")
