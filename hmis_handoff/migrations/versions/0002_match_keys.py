"""match keys on intake_record

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 12:00:00

Three nullable HMAC columns (see usecases.match_keys) so an HMIS export can be
reconciled without plaintext. Additive: existing rows keep NULL keys and are reported as
"no keys" by reconciliation; they can still be confirmed by a confirmation CSV.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_COLUMNS = ("match_key_a", "match_key_b", "match_key_c")


def upgrade() -> None:
    with op.batch_alter_table("intake_record", schema=None) as batch_op:
        for name in _COLUMNS:
            batch_op.add_column(sa.Column(name, sa.String(length=64), nullable=True))
            batch_op.create_index(batch_op.f(f"ix_intake_record_{name}"), [name], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("intake_record", schema=None) as batch_op:
        for name in _COLUMNS:
            batch_op.drop_index(batch_op.f(f"ix_intake_record_{name}"))
            batch_op.drop_column(name)
