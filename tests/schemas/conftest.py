"""Fixtures for the schema tests."""

from __future__ import annotations

import pytest

from schemas.validate import ValidationContext
from tests.schemas.helpers import CONTEXT


@pytest.fixture
def context() -> ValidationContext:
    """The validation context that makes tests.synthetic rows valid."""
    return CONTEXT
