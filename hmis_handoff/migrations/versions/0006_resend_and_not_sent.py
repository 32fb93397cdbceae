"""Content key of each delivered row (re-sends), and the ``not_sent`` file state.

Additive: ``intake_record.content_key`` is a new nullable column (rows delivered before it
keep ``NULL`` and are treated as changed, i.e. held, when re-sent). The file state
``not_sent`` needs no schema change: ``intake_file.state`` is a 16-character string.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("intake_record") as batch_op:
        batch_op.add_column(sa.Column("content_key", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("intake_record") as batch_op:
        batch_op.drop_column("content_key")
