"""Environment for Prefect processes, chosen to close Prefect's PII leak surfaces.

Core code does not import Prefect; this only builds the variables the CLI exports before
flows are imported (Prefect reads its settings at import time). See
``reference/prefect.md`` §5 for the surfaces: results are never persisted, prints are not
logged, analytics are off, and Prefect's state lives under the data root.
"""

from __future__ import annotations

import hashlib
import os

from hmis_handoff.config import Settings
from hmis_handoff.layout import Layout
from hmis_handoff.private_files import set_private_umask, tighten_tree

__all__ = ["STACK_VARIABLE", "api_url", "apply", "prefect_environment", "stack_marker"]


def api_url(settings: Settings) -> str:
    """The Prefect API address for this configuration."""
    if settings.prefect.api_url:
        return settings.prefect.api_url
    return f"http://{settings.prefect.host}:{settings.prefect.port}/api"


# The Prefect Variable in which `handoff up` leaves :func:`stack_marker` on its server.
STACK_VARIABLE = "handoff_data_root"


def stack_marker(settings: Settings) -> str:
    """A value-free id of this data root (a hash of its resolved path): `handoff up` leaves
    it on its Prefect server, so a one-shot command can tell its own stack's server from
    another data root's answering on the same port."""
    digest = hashlib.sha256(str(settings.root.resolve()).encode()).hexdigest()
    return f"root-{digest[:16]}"


def prefect_environment(settings: Settings, *, with_api_url: bool) -> dict[str, str]:
    """Variables to export before importing Prefect for this configuration."""
    layout = Layout(settings.root)
    env = {
        "PREFECT_HOME": str(layout.prefect_home),
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
        "PREFECT_LOGGING_LOG_PRINTS": "false",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_API_HOST": settings.prefect.host,
        "PREFECT_SERVER_API_PORT": str(settings.prefect.port),
        "PREFECT_SERVER_UI_API_URL": api_url(settings),
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",
        # Keep flow runs, logs and artifacts for 90 days and events for 7 (ids only anyway).
        "PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED": '["events","flow_runs"]',
        "HANDOFF_CONFIG": str(settings.config_path),
    }
    if with_api_url:
        env["PREFECT_API_URL"] = api_url(settings)
    return env


def apply(settings: Settings, *, with_api_url: bool) -> None:
    """Export :func:`prefect_environment` into this process (before importing Prefect)."""
    os.environ.update(prefect_environment(settings, with_api_url=with_api_url))
    # Prefect's database, WAL, logs and storage: 0600 from now on, and tightened if older.
    set_private_umask()
    tighten_tree(Layout(settings.root).prefect_home)
    if not with_api_url:
        os.environ.pop("PREFECT_API_URL", None)
