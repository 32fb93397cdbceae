"""The real parts the suite drives, checked once before any test runs.

:func:`missing_real_parts` returns one line per part that is absent or unusable, each
saying how to get it; ``tests/conftest.py`` turns a non-empty list into a failed run
(before collection) unless ``HANDOFF_TESTS_ALLOW_SKIP=1`` is set, which CI never sets.
The same variable is the only thing that lets a test end as "skipped" instead of failed.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_TESTDATA = REPO_ROOT.parent / "shared" / "testdata"
# The shared peer data the suite reads (age vectors, Eva, hmis-warehouse, LSA sample).
SHARED_SETS = ("age-cctv", "eva-checks", "eva-demo", "hmis-warehouse", "lsa-sample")
OPT_OUT = "HANDOFF_TESTS_ALLOW_SKIP"
PG_URL_ENV = "HANDOFF_TEST_PG_URL"
PG_URL_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
INSTALL = "run `make test` (as root or with sudo), which installs and starts it"


def opted_out() -> bool:
    """True only when the developer explicitly allowed skips for this run."""
    return os.environ.get(OPT_OUT) == "1"


def _tool(name: str, package: str, *, sbin: bool = False) -> str | None:
    search = os.environ.get("PATH", "")
    if sbin:  # sshd lives in /usr/sbin, which a non-root PATH often lacks
        search += os.pathsep + "/usr/sbin:/sbin"
    if shutil.which(name, path=search):
        return None
    return f"`{name}` not found: install the Debian package {package!r} ({INSTALL})"


def _postgres() -> str | None:
    """PostgreSQL accepts a connection to the test database and can create a database."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = os.environ.get(PG_URL_ENV, PG_URL_DEFAULT)
    where = make_url(url).render_as_string(hide_password=True)
    scratch = f"hh_check_{uuid.uuid4().hex[:10]}"
    try:
        engine = create_engine(url, isolation_level="AUTOCOMMIT", connect_args=_timeout(url))
        try:
            with engine.connect() as conn:
                conn.execute(text(f"CREATE DATABASE {scratch}"))
                conn.execute(text(f"DROP DATABASE {scratch}"))
        finally:
            engine.dispose()
    except Exception as error:  # the kind does not matter: the message names the fix
        reason = type(error).__name__
        return (
            f"PostgreSQL at {where} refused a connection or CREATE DATABASE ({reason}): "
            f"{INSTALL} (Debian package 'postgresql', trust auth for 127.0.0.1, "
            f"database 'test'), or point {PG_URL_ENV} at a server where it can"
        )
    return None


def _timeout(url: str) -> dict[str, int]:
    return {"connect_timeout": 5} if url.startswith("postgresql+psycopg") else {}


def _shared_data() -> str | None:
    missing = [name for name in SHARED_SETS if not (SHARED_TESTDATA / name).is_dir()]
    if not missing:
        return None
    return (
        f"shared test data missing under {SHARED_TESTDATA}: {', '.join(missing)} "
        "(the repository is checked out with the team's `shared/` folder beside it)"
    )


CHECKS: tuple[tuple[str, Callable[[], str | None]], ...] = (
    ("age", lambda: _tool("age", "age")),
    ("age-keygen", lambda: _tool("age-keygen", "age")),
    ("chromium", lambda: _tool("chromium", "chromium")),
    ("ssh-keygen", lambda: _tool("ssh-keygen", "openssh-client")),
    ("sshd", lambda: _tool("sshd", "openssh-server", sbin=True)),
    ("postgresql", _postgres),
    ("shared test data", _shared_data),
)


def missing_real_parts() -> list[str]:
    """One message per missing or unusable real part; empty when everything is there."""
    return [message for _name, check in CHECKS if (message := check()) is not None]


def failure_message(missing: list[str]) -> str:
    lines = "\n".join(f"  - {message}" for message in missing)
    return (
        "Real parts the tests need are missing:\n"
        f"{lines}\n"
        f"Nothing is skipped silently: install them, or set {OPT_OUT}=1 to let the tests "
        "that need them skip (never in CI)."
    )
