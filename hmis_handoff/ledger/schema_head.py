"""Is the ledger's schema already at the newest migration? Answered without Alembic.

Importing Alembic costs about a quarter of a second of CPU (it pulls in Mako and, through
Mako, Pygments), a tenth of a one-shot ``handoff process``, and almost every start finds
the schema already at head. :func:`at_head` reads the revision graph from the migration
scripts' own ``revision`` / ``down_revision`` lines and the version row from the ledger. It
answers True only when the graph is one plain chain whose head is the single stored
revision; anything else (a merge, a branch, an unreadable script, no version table) answers
False, and the caller runs Alembic, which stays the only code that changes the schema.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

__all__ = ["VERSION_TABLE", "at_head", "script_head"]

#: Alembic's version table for the ledger (see migrations/env.py).
VERSION_TABLE = "handoff_alembic_version"

_REVISION = re.compile(r'^revision\s*=\s*"([0-9A-Za-z_]+)"\s*$', re.MULTILINE)
_DOWN = re.compile(r'^down_revision\s*=\s*(?:"([0-9A-Za-z_]+)"|None)\s*$', re.MULTILINE)


def script_head(versions: Path) -> str | None:
    """The one head of the migration scripts in ``versions``, or None if the graph is not
    a plain chain this reader understands (then ask Alembic)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in versions.glob("*.py"):
        source = script.read_text(encoding="utf-8")
        revision = _REVISION.findall(source)
        down = _DOWN.findall(source)
        if len(revision) != 1 or len(down) != 1:
            return None
        revisions.add(revision[0])
        if down[0]:
            parents.add(down[0])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None


def at_head(engine: Engine, versions: Path) -> bool:
    """True if the ledger at ``engine`` records exactly the scripts' head revision."""
    head = script_head(versions)
    if head is None:
        return False
    try:
        with engine.connect() as connection:
            stored = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
            return [row[0] for row in stored] == [head]
    except SQLAlchemyError:  # no version table yet: a new ledger
        return False
