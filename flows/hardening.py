"""Prefect hardening, asserted at start-up rather than assumed.

Prefect's leak surfaces (reference/prefect.md §5) are closed by settings the CLI exports
(hmis_handoff.prefect_env) and by every flow and task declaring ``persist_result=False``.
A setting changed by an environment variable, a profile or a new flow would silently
reopen one, so ``handoff up``, ``handoff process`` and the flows (on first use of the
hand-off service in a process) check, and refuse to start with ``ConfigError`` naming the
setting (never a value):

* no result persistence: ``results.persist_by_default`` off, and every flow and task in
  the ``flows`` package has ``persist_result=False``;
* ``logging.log_prints`` off, and no flow or task turns it on;
* for the server we start or use: run and event retention set (the DB vacuum covers
  ``flow_runs`` and ``events`` with a finite retention period);
* the API bound to loopback, or protected at scale (an auth string for the server we
  bind, an auth string or key for a remote API we call).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from prefect import Flow, Task
from prefect.settings import get_current_settings

import flows
from hmis_handoff.config import Settings
from hmis_handoff.errors import ConfigError
from hmis_handoff.hosts import is_loopback

__all__ = ["assert_prefect_hardened", "hardening_problems", "our_prefect_objects"]

_SKIP_MODULES = frozenset({"flows.hardening"})


def our_prefect_objects() -> list[Any]:
    """Every Flow and Task object defined in the ``flows`` package (importing it)."""
    found: list[Any] = []
    for module_info in pkgutil.iter_modules(flows.__path__, "flows."):
        if module_info.name in _SKIP_MODULES:
            continue
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            if isinstance(value, Flow | Task) and value.__module__ == module_info.name:
                found.append(value)
    return found


def hardening_problems(
    settings: Settings, *, server: bool, objects: Iterable[Any] | None = None
) -> list[str]:
    """What is not hardened, as fixed text naming settings (empty when all is well)."""
    current = get_current_settings()
    problems: list[str] = []
    if current.results.persist_by_default:
        problems.append("PREFECT_RESULTS_PERSIST_BY_DEFAULT must be false")
    if current.logging.log_prints:
        problems.append("PREFECT_LOGGING_LOG_PRINTS must be false")
    for thing in our_prefect_objects() if objects is None else objects:
        if getattr(thing, "persist_result", None) is not False:
            problems.append(f"{thing.name}: persist_result must be False")
        if getattr(thing, "log_prints", None):
            problems.append(f"{thing.name}: log_prints must be off")
    if not server:
        return problems
    vacuum = current.server.services.db_vacuum
    enabled = vacuum.enabled if isinstance(vacuum.enabled, set) else set()
    if not {"flow_runs", "events"} <= enabled:
        problems.append("PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED must list flow_runs and events")
    if not timedelta(0) < vacuum.retention_period <= timedelta(days=3650):
        problems.append("PREFECT_SERVER_SERVICES_DB_VACUUM_RETENTION_PERIOD must be set")
    if not timedelta(0) < current.server.events.retention_period <= timedelta(days=3650):
        problems.append("PREFECT_SERVER_EVENTS_RETENTION_PERIOD must be set")
    if not is_loopback(settings.prefect.host) and not current.server.api.auth_string:
        problems.append(
            "[prefect] host is not loopback: bind 127.0.0.1, or set "
            "PREFECT_SERVER_API_AUTH_STRING to protect the API at scale"
        )
    api_host = urlsplit(settings.prefect.api_url).hostname if settings.prefect.api_url else None
    if api_host and not is_loopback(api_host) and not (current.api.auth_string or current.api.key):
        problems.append(
            "[prefect] api_url is not loopback: set PREFECT_API_AUTH_STRING or PREFECT_API_KEY"
        )
    return problems


def assert_prefect_hardened(settings: Settings, *, server: bool) -> None:
    """Raise ``ConfigError`` listing :func:`hardening_problems`, if any."""
    problems = hardening_problems(settings, server=server)
    if problems:
        raise ConfigError("Prefect is not hardened: " + "; ".join(problems))
