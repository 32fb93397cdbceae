"""The ledger (SQLAlchemy + Alembic): ids, keyed hashes, dates and states; never PII.

Every query and transaction of the project lives in this package (import-linter forbids
SQLAlchemy and Alembic elsewhere); callers ask typed questions and get plain values:

* ``store``: :class:`Ledger`, files and records and their state changes;
* ``reservations``: IntakeID reservations taken before packaging;
* ``deliveries``: one row per package and channel;
* ``lookups``: small questions the connectors ask;
* ``entries``: the records a confirmation or an HMIS export may mark entered;
* ``scan``: fast column scans for the deadline check;
* ``reporting``: the deadline table and the dashboard's questions;
* ``failures``: telling a database failure from any other error;
* ``models``: the tables; ``hmis_handoff/migrations``: their Alembic history.
"""

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
