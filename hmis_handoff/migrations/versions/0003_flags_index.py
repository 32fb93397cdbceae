"""Covering index for the deadline check's scan (ledger/scan.py).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_COLUMNS = [
    "agency_id", "partner_id", "due_date", "entered_on", "state", "intake_date", "received_on",
]  # fmt: skip


def upgrade() -> None:
    with op.batch_alter_table("intake_record") as batch_op:
        batch_op.create_index("ix_intake_record_flags", _COLUMNS, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("intake_record") as batch_op:
        batch_op.drop_index("ix_intake_record_flags")
