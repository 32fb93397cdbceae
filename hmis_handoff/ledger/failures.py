"""Telling a failure of the ledger's database apart from any other exception."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

__all__ = ["is_database_failure"]


def is_database_failure(exc: BaseException) -> bool:
    """True if ``exc`` comes from the ledger's database layer (connection, SQL, driver).

    Such an exception's text may quote SQL parameters (ids, keyed hashes): report its class
    name only.
    """
    return isinstance(exc, SQLAlchemyError)
