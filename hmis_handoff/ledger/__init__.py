"""The ledger (SQLAlchemy + Alembic): ids, keyed hashes, dates and states; never PII."""

from hmis_handoff.ledger.models import FileState, RecordState
from hmis_handoff.ledger.store import (
    FileCounts,
    FileView,
    Ledger,
    NewRecord,
    PackageInfo,
)

__all__ = [
    "FileCounts",
    "FileState",
    "FileView",
    "Ledger",
    "NewRecord",
    "PackageInfo",
    "RecordState",
]
