"""The Alembic-free "already at head?" check agrees with Alembic itself (real SQLite file)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from hmis_handoff.ledger import Ledger
from hmis_handoff.ledger.schema_head import VERSION_TABLE, at_head, script_head
from tests.conftest import REPO_ROOT

MIGRATIONS = REPO_ROOT / "hmis_handoff" / "migrations"


def test_the_scripts_head_is_alembics_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert [script_head(MIGRATIONS / "versions")] == ScriptDirectory.from_config(config).get_heads()


def test_a_branched_or_unreadable_graph_has_no_head(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text('revision = "a"\ndown_revision = None\n')
    (tmp_path / "b.py").write_text('revision = "b"\ndown_revision = "a"\n')
    assert script_head(tmp_path) == "b"
    (tmp_path / "c.py").write_text('revision = "c"\ndown_revision = "a"\n')
    assert script_head(tmp_path) is None  # two heads: Alembic decides
    (tmp_path / "c.py").write_text('revision = "c"\ndown_revision = ("a", "b")\n')
    assert script_head(tmp_path) is None  # a merge: Alembic decides


def test_a_new_or_older_ledger_is_migrated_and_a_current_one_is_not(tmp_path: Path) -> None:
    current = create_engine(f"sqlite:///{tmp_path / 'current.db'}")
    assert not at_head(current, MIGRATIONS / "versions")  # no version table yet
    Ledger(str(current.url)).close()
    assert at_head(current, MIGRATIONS / "versions")
    current.dispose()
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    engine = create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:  # a ledger one migration behind
        config.attributes["connection"] = conn
        command.upgrade(config, "0006")
    assert not at_head(engine, MIGRATIONS / "versions")
    engine.dispose()
    # A start on a current ledger does not import Alembic; an older one is brought to head.
    probe = (
        "import sys; from hmis_handoff.ledger import Ledger; "
        f"Ledger({url!r}).close(); print('alembic' in sys.modules)"
    )
    first = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    second = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert (first.stdout.strip(), second.stdout.strip()) == ("True", "False"), first.stderr
    engine = create_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    engine.dispose()
    assert stored == [script_head(MIGRATIONS / "versions")]
