"""Duplicates are per agency, and a rejected file does not make a resend a duplicate.

Revision ID: 0005
Revises: 0004

Before: one live (non-duplicate) row per content hash across all agencies, so agency B was
told its file repeated agency A's, and a refused file sent again was only ever
"duplicate". Now: one *accepted* (neither duplicate nor rejected) row per agency and hash.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_LIVE = "state NOT IN ('duplicate', 'rejected')"
_OLD = "state != 'duplicate'"


def upgrade() -> None:
    with op.batch_alter_table("intake_file") as batch_op:
        batch_op.drop_index("uq_intake_file_sha256_live")
        batch_op.create_index(
            "uq_intake_file_agency_sha256_live",
            ["agency_id", "sha256"],
            unique=True,
            sqlite_where=sa.text(_LIVE),
            postgresql_where=sa.text(_LIVE),
        )


def downgrade() -> None:
    with op.batch_alter_table("intake_file") as batch_op:
        batch_op.drop_index("uq_intake_file_agency_sha256_live")
        batch_op.create_index(
            "uq_intake_file_sha256_live",
            ["sha256"],
            unique=True,
            sqlite_where=sa.text(_OLD),
            postgresql_where=sa.text(_OLD),
        )
