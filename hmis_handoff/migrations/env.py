"""Alembic environment: runs on the connection handed over by :mod:`hmis_handoff.ledger.store`."""

from __future__ import annotations

from alembic import context

from hmis_handoff.ledger.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    # Our own version table: the ledger may share a database with Prefect's server, whose
    # Alembic history lives in the default ``alembic_version``.
    version_table="handoff_alembic_version",
)
with context.begin_transaction():
    context.run_migrations()
