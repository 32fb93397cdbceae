"""The one way a flow or task reaches its configuration: :func:`current_handoff`.

Flows receive no configuration as parameters (parameters are stored by the Prefect API);
the config path comes from ``HANDOFF_CONFIG``, which the CLI sets before any flow runs.
Every flow and task body takes what it needs from ``current_handoff()``: ``.settings``,
``.layout`` (the data root's tree) and ``.ledger``; none loads settings itself. Only the
process entry points the CLI calls with the ``Settings`` it loaded from ``--config``
(``run_stack``, the watchers, ``apply_automations``) take them as an argument.
"""

from __future__ import annotations

import functools
import threading

from hmis_handoff.config import load_settings, resolve_config_path
from usecases.handoff import Handoff

__all__ = ["current_handoff"]

_lock = threading.Lock()


@functools.cache
def _handoff_for(config_path: str) -> Handoff:
    settings = load_settings(config_path)
    # Every flow gets here first: refuse to run with a Prefect leak surface open.
    from flows.hardening import assert_prefect_hardened

    assert_prefect_hardened(settings, server=False)
    return Handoff(settings)


def current_handoff() -> Handoff:
    """The hand-off service for the current ``HANDOFF_CONFIG`` (one per process and config)."""
    # Resolving the path reads no file: the TOML is parsed once per process and config.
    with _lock:
        return _handoff_for(str(resolve_config_path()))
