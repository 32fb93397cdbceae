"""Duplicates are per agency, and a rejected file does not make a resend a duplicate.

Revision ID: 0005
Revises: 0004

Before: one live (non-duplicate) row per content hash across all agencies, so agency B was
told its file repeated agency A's, and a refused file sent again was only ever
"duplicate". Now: one *accepted* (neither duplicate nor rejected) row per agency and hash.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_LIVE = "state NOT IN ('duplicate', 'rejected')"
_OLD = "state != 'duplicate'"

# Plain SQL with IF [NOT] EXISTS, the same on SQLite and PostgreSQL: no batch table copy, and
# a migration killed between the two statements (SQLite runs DDL outside a transaction) is
# completed by the next start instead of failing on a missing or existing index.


def upgrade() -> None:
    op.execute("DROP INDEX IF EXISTS uq_intake_file_sha256_live")
    op.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS uq_intake_file_agency_sha256_live "
        f"ON intake_file (agency_id, sha256) WHERE {_LIVE}"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS uq_intake_file_agency_sha256_live")
    op.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS uq_intake_file_sha256_live "
        f"ON intake_file (sha256) WHERE {_OLD}"
    )
