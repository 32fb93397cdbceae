"""delivery: one row per package and delivery channel

Revision ID: 0007
Revises: 0006

Additive: a new table only. Packages written before it have no delivery rows; the
delivery sweep creates them (pending) for every channel configured now.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("package_id", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tried_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("remote_ref", sa.String(length=160), nullable=True),
        sa.Column("verified_sha256", sa.String(length=64), nullable=True),
        sa.Column("error_kind", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(
            ["package_id"], ["package.package_id"], name="fk_delivery_package_id_package"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_delivery"),
    )
    op.create_index("ix_delivery_package_id", "delivery", ["package_id"], unique=False)
    op.create_index("ix_delivery_partner_id", "delivery", ["partner_id"], unique=False)
    op.create_index("ix_delivery_state", "delivery", ["state"], unique=False)
    op.create_index(
        "uq_delivery_package_channel", "delivery", ["package_id", "channel_id"], unique=True
    )


def downgrade() -> None:
    op.drop_table("delivery")
