"""Named crash points for crash-consistency tests.

``failpoint(name)`` kills the current process with SIGKILL when ``HANDOFF_FAILPOINT`` equals
``name`` (after skipping the first ``HANDOFF_FAILPOINT_SKIP`` hits). The environment is read
once, so the call costs a string comparison in production, where neither variable is set.
"""

from __future__ import annotations

import os
import signal

_TARGET = os.environ.get("HANDOFF_FAILPOINT", "")
_skip = int(os.environ.get("HANDOFF_FAILPOINT_SKIP", "0") or 0)


def failpoint(name: str) -> None:
    """SIGKILL this process if ``name`` is the configured failpoint (see module docstring)."""
    global _skip
    if not _TARGET or name != _TARGET:
        return
    if _skip > 0:
        _skip -= 1
        return
    os.kill(os.getpid(), signal.SIGKILL)
