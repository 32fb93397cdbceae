"""The name an agency gave a file, kept only inside that agency's own reports folder.

Agency staff recognise their files by name, so receipts and the reports index show it.
File names may identify a client (``smith_john_intake.xlsx``), so the name never goes to
the ledger, Prefect, logs, events or the name of any file we create: it is stored here, in
``<agency reports>/.received-<claim_id>.json`` (0600, in the 0700 folder), the one place the
agency already reads, and read back only to write that agency's receipt and index page.

The claim id is random hex, so the note's own file name reveals nothing. Notes are small
and kept with the receipts (retention of reports covers them).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Final

from hmis_handoff.fsutil import atomic_write_bytes, ensure_private_dir

__all__ = ["MAX_NAME_CHARS", "NOTE_PREFIX", "recall", "remember"]

NOTE_PREFIX: Final = ".received-"
_CLAIM_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
#: Longer names are cut: a note is shown in a page, never used as a path.
MAX_NAME_CHARS: Final = 255


def _note(reports_dir: Path, claim_id: str) -> Path:
    if not _CLAIM_ID.fullmatch(claim_id):
        raise ValueError("claim_id must be a short id of letters, digits, '-' and '_'")
    return reports_dir / f"{NOTE_PREFIX}{claim_id}.json"


def remember(reports_dir: Path, claim_id: str, name: str) -> None:
    """Keep ``name`` (the agency's file name) for the receipt of claim ``claim_id``.

    Undecodable bytes in a name (``surrogateescape``) are shown as the replacement
    character. Writing again replaces the note (safe to repeat).
    """
    safe = name.encode("utf-8", "replace").decode("utf-8")[:MAX_NAME_CHARS]
    path = _note(reports_dir, claim_id)
    ensure_private_dir(path.parent)
    atomic_write_bytes(path, json.dumps({"name": safe}, ensure_ascii=False).encode())


def recall(reports_dir: Path, claim_id: str) -> str | None:
    """The name kept for ``claim_id``, or None (not kept, unreadable, or not a claim id)."""
    try:
        raw = _note(reports_dir, claim_id).read_bytes()
        name = json.loads(raw).get("name")
    except (OSError, ValueError, AttributeError):
        return None
    return name if isinstance(name, str) and name else None
