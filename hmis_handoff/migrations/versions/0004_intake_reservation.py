"""intake_reservation: IntakeIDs reserved before packaging

Revision ID: 0004
Revises: 0003

A row per (agency, IntakeID) committed before a file's package is written, so two workers
handing off files that reuse IntakeIDs cannot both reach the outbox (see
hmis_handoff.ledger.reservations). Additive: existing deliveries are still guarded by
intake_record's unique index and the validator's INTAKE-ID-ALREADY-SENT rule.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake_reservation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.String(length=32), nullable=False),
        sa.Column("intake_id", sa.String(length=32), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"], ["intake_file.id"], name=op.f("fk_intake_reservation_file_id_intake_file")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_reservation")),
        sa.UniqueConstraint(
            "agency_id", "intake_id", name="uq_intake_reservation_agency_intake"
        ),
    )
    with op.batch_alter_table("intake_reservation") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_intake_reservation_file_id"), ["file_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("intake_reservation") as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_reservation_file_id"))
    op.drop_table("intake_reservation")
