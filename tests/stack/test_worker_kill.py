"""Two workers share one data root and a PostgreSQL ledger; one is SIGKILLed mid-run. After
the survivor and one more run, every file is delivered exactly once: nothing lost, nothing
doubled (issue 12). Real PostgreSQL, real processes, a real SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import REPO_ROOT, run_cli
from tests.stack.workers import database_url, scratch_database
from tests.synthetic import make_valid_frame, write_sample_csv

FILES = 24


def _worker(config: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.stack.worker_loop", str(config)],
        env=env,
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.postgres
def test_a_worker_killed_mid_run_loses_and_doubles_nothing(tmp_path: Path) -> None:
    with scratch_database() as ledger_db:
        root = tmp_path / "data"
        run_cli("init", str(root), "--demo")
        config = root / "handoff.toml"
        env = {**os.environ, "HANDOFF_LEDGER__URL": database_url(ledger_db)}
        drop = root / "agencies" / "demo-agency" / "drop"
        for i in range(FILES):
            frame = make_valid_frame(3, household_size=3, start=3 * i)
            write_sample_csv(drop / f"intake-{i:02d}.csv", frame.to_dict("records"))  # type: ignore[arg-type]
        outbox = root / "partners" / "demo-partner" / "outbox"

        victim, survivor = _worker(config, env), _worker(config, env)
        deadline = time.monotonic() + 240
        while len(list(outbox.glob("*.sig"))) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert victim.poll() is None, "the victim finished before it could be killed"
        victim.send_signal(signal.SIGKILL)
        assert victim.wait(timeout=30) == -signal.SIGKILL
        assert victim.stderr is not None
        victim.stderr.close()
        _out, err = survivor.communicate(timeout=300)
        assert survivor.returncode == 0, err.decode()[-3000:]
        # The killed worker's claim (if it held one) waits in work/; the next run finishes it.
        run_cli("process", "--config", str(config), env=env)

        assert not list(drop.iterdir()), "a file was left in the drop folder"
        assert not [p for p in (root / "work").iterdir() if p.suffix == ".csv"], "a claim"
        status = json.loads(run_cli("status", "--config", str(config), "--json", env=env).stdout)
        assert {r["state"]: r["count"] for r in status["files"]} == {"delivered": FILES}
        assert len(list(outbox.glob("*.age"))) == FILES
        assert len(list(outbox.glob("*.manifest.json.sig"))) == FILES
        engine = create_engine(env["HANDOFF_LEDGER__URL"])
        with engine.connect() as conn:
            hashes = conn.execute(text("select count(distinct sha256) from intake_file"))
            records = conn.execute(text("select count(*) from intake_record"))
            assert (hashes.scalar_one(), records.scalar_one()) == (FILES, 3 * FILES)
        engine.dispose()
