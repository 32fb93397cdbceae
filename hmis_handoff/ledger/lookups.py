"""Small read-only ledger questions asked by connectors (no PII in or out)."""

from __future__ import annotations

from sqlalchemy import select

from hmis_handoff.ledger.models import TERMINAL_FILE_STATES, IntakeFile
from hmis_handoff.ledger.store import Ledger

__all__ = ["has_terminal_content"]


def has_terminal_content(ledger: Ledger, sha256: str) -> bool:
    """True when a file with this content hash reached delivered, rejected or duplicate."""
    states = [state.value for state in TERMINAL_FILE_STATES]
    with ledger.session() as session:
        found = session.scalars(
            select(IntakeFile.id)
            .where(IntakeFile.sha256 == sha256, IntakeFile.state.in_(states))
            .limit(1)
        ).first()
    return found is not None
