"""Fixtures for the hardening regression tests: a fresh demo data root."""

from __future__ import annotations

from pathlib import Path

import pytest

from usecases.initialise import initialise


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    initialise(data, demo=True)
    return data
