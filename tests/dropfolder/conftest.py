"""Fixtures for the drop-folder tests: a runtime tree and a clock the test moves by hand."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from connectors.dropfolder import DropFolderScanner, SettlePolicy
from hmis_handoff.fsutil import ensure_private_dir

AGENCIES = ("agency-a", "agency-b")


class FakeClock:
    """A monotonic clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Tree:
    """The data root of DESIGN.md with two agencies."""

    root: Path

    @property
    def agencies(self) -> Path:
        return self.root / "agencies"

    def drop(self, agency: str = AGENCIES[0]) -> Path:
        return self.agencies / agency / "drop"

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    def put(
        self, name: str | bytes, data: bytes = b"id,name\n1,x\n", agency: str = AGENCIES[0]
    ) -> Path:
        """Create a file in a drop folder; ``name`` may be raw bytes (any legal name)."""
        raw = name if isinstance(name, bytes) else os.fsencode(name)
        path = os.path.join(os.fsencode(self.drop(agency)), raw)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return Path(os.fsdecode(path))

    def scanner(self, clock: FakeClock | None = None, **policy: object) -> DropFolderScanner:
        settle = SettlePolicy(**policy)  # type: ignore[arg-type]
        if clock is None:
            return DropFolderScanner(self.agencies, AGENCIES, settle)
        return DropFolderScanner(self.agencies, AGENCIES, settle, clock=clock)

    def listing(self, directory: Path) -> list[str]:
        return sorted(os.listdir(directory)) if directory.exists() else []


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    for agency in AGENCIES:
        ensure_private_dir(tmp_path / "agencies" / agency / "drop")
    return Tree(tmp_path)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
