"""The per-agency index page: every file received, newest first, with its outcome.

``<agency reports>/index.html`` lists each report written to that folder: when the file
arrived, the name the agency gave it (when known), what happened, and a link to its
receipt. Each report adds one small entry, ``.index-<report stem>.json`` (a hidden file
beside the report); the page is then rebuilt from all entries, so writing an entry again
(after a crash) changes nothing and two writers cannot lose each other's entries (the page
may briefly lag one of them).

Like the receipts, the page lives only in the agency's own reports folder, the one place
the agency's file name may appear. It loads nothing and runs no script.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Final

from hmis_handoff.fsutil import atomic_write_bytes, ensure_private_dir

__all__ = ["ENTRY_PREFIX", "INDEX_PAGE", "IndexEntry", "add_entry", "body", "entries"]

INDEX_PAGE: Final = "index.html"
ENTRY_PREFIX: Final = ".index-"


@dataclass(frozen=True)
class IndexEntry:
    """One received file: ``received_at`` (ISO, for sorting) and ``arrived`` (as shown).
    ``outcome_class`` is ``ok``, ``bad`` or ``info`` (the colour);
    ``page`` is the receipt's file name in the same folder."""

    received_at: str
    arrived: str
    file_ref: str
    name: str | None
    outcome: str
    outcome_class: str
    page: str


def add_entry(reports_dir: Path, stem: str, entry: IndexEntry) -> None:
    """Record ``entry`` under ``stem`` (the caller then writes :func:`body` as the page)."""
    ensure_private_dir(reports_dir)
    path = reports_dir / f"{ENTRY_PREFIX}{stem}.json"
    atomic_write_bytes(path, json.dumps(asdict(entry)).encode())


def entries(reports_dir: Path) -> list[IndexEntry]:
    """Every recorded entry, newest arrival first (unreadable entries are skipped)."""
    found: list[IndexEntry] = []
    for path in reports_dir.glob(f"{ENTRY_PREFIX}*.json"):
        try:
            found.append(IndexEntry(**json.loads(path.read_bytes())))
        except (OSError, ValueError, TypeError):
            continue
    return sorted(
        found, key=lambda e: (datetime.fromisoformat(e.received_at), e.page), reverse=True
    )


def body(reports_dir: Path) -> str:
    """The index page's body (escaped HTML)."""
    rows = "".join(
        f'<tr class="{escape(e.outcome_class)}"><td>{escape(e.arrived)}</td>'
        f"<td>{escape(e.name) if e.name else '<i>name not recorded</i>'}</td>"
        f"<td>{escape(e.outcome)}</td>"
        f'<td><a href="{escape(e.page)}">open</a> <small>{escape(e.file_ref)}</small></td></tr>'
        for e in entries(reports_dir)
    )
    return (
        "<h1>Files received from your agency</h1>"
        "<p>Newest first. Open a receipt to see which rows were sent and what to fix.</p>"
        "<table><tr><th>Arrived</th><th>Your file</th><th>What happened</th>"
        f"<th>Receipt</th></tr>{rows}</table>"
    )
