"""Progress of long work, reported to whoever listens (the flows turn it into an artifact).

Contract: :func:`listening` installs a callback for the current context (thread / task);
:func:`rows_done` calls it with the number of data rows handled so far, or does nothing when
nobody listens. Only counts travel; never a value.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path

__all__ = ["count_lines", "listening", "rows_done"]

_listener: ContextVar[Callable[[int], None] | None] = ContextVar("handoff_progress", default=None)


def rows_done(count: int) -> None:
    """Report ``count`` rows handled so far in the current file."""
    listener = _listener.get()
    if listener is not None:
        listener(count)


@contextlib.contextmanager
def listening(callback: Callable[[int], None]) -> Iterator[None]:
    """Send :func:`rows_done` reports made inside the block to ``callback``."""
    token = _listener.set(callback)
    try:
        yield
    finally:
        _listener.reset(token)


def count_lines(path: Path) -> int:
    """Newlines in ``path``, read in 1 MiB blocks: the total a big CSV's progress is shown
    against (one more than its data rows when the header is counted)."""
    count = 0
    with path.open("rb") as handle:
        while block := handle.read(2**20):
            count += block.count(b"\n")
    return count
