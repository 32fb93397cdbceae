"""Named crash points for crash-consistency tests.

``failpoint(name)`` kills the current process with SIGKILL when ``HANDOFF_FAILPOINT`` equals
``name`` (after skipping the first ``HANDOFF_FAILPOINT_SKIP`` hits). The environment is read
once, so the call costs a string comparison in production, where neither variable is set.
A process that changes its environment after import (a fork server starting a child) calls
:func:`reload`.

The points, in the order one file meets them (``NAMES``): ``claim-sidecar-written`` and
``claimed`` in :func:`connectors.dropfolder.claim`; then, in the pipeline, ``registered``
(ledger row committed), ``validated``, ``plaintext-written`` (the partner CSV in work/),
``packaged`` (signature written), ``reported`` (receipt, rejection report or duplicate
notice), ``archived`` (encrypted original kept), ``delivered`` / ``rejected`` (terminal
state committed) and ``cleaned-up`` (work files removed).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping

__all__ = ["NAMES", "failpoint", "reload"]

NAMES = (
    "claim-sidecar-written",
    "claimed",
    "registered",
    "validated",
    "plaintext-written",
    "packaged",
    "reported",
    "archived",
    "delivered",
    "rejected",
    "cleaned-up",
)

_TARGET = ""
_skip = 0


def reload(environ: Mapping[str, str] | None = None) -> None:
    """Read ``HANDOFF_FAILPOINT`` and ``HANDOFF_FAILPOINT_SKIP`` again (default: os.environ).

    Raises ``ValueError`` if the skip count is not a whole number.
    """
    global _TARGET, _skip
    env = os.environ if environ is None else environ
    _TARGET = env.get("HANDOFF_FAILPOINT", "")
    _skip = int(env.get("HANDOFF_FAILPOINT_SKIP", "0") or 0)


def failpoint(name: str) -> None:
    """SIGKILL this process if ``name`` is the configured failpoint (see module docstring)."""
    global _skip
    if not _TARGET or name != _TARGET:
        return
    if _skip > 0:
        _skip -= 1
        return
    os.kill(os.getpid(), signal.SIGKILL)


reload()
