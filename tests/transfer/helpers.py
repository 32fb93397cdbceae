"""Helpers for the transfer tests: demo data roots with channels, ledger look-ups."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from hmis_handoff.ledger import Ledger
from hmis_handoff.ledger.deliveries import DeliveryView, deliveries
from tests.conftest import age_binary, api_port, run_cli
from tests.packages import intake_text

PARTNER = "demo-partner"
AGENCY = "demo-agency"
VALID_IDS = ["DEMO-0001", "DEMO-0002", "DEMO-0003", "DEMO-0004"]


def demo_root(root: Path, prefect_api: str) -> Path:
    run_cli("init", str(root), "--demo", "--port", str(api_port(prefect_api)))
    return root


def install_secret(root: Path, source: Path, name: str) -> str:
    """Copy a key or known_hosts file into ``root/keys`` (0600); its data-root path."""
    keys = root / "keys"
    keys.mkdir(mode=0o700, exist_ok=True)
    target = keys / name
    shutil.copyfile(source, target)
    target.chmod(0o600)
    return f"keys/{name}"


def append_config(root: Path, text: str) -> None:
    with (root / "handoff.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n" + text.strip() + "\n")


def drop_sample(root: Path, name: str = "intake.csv") -> None:
    target = root / "agencies" / AGENCY / "drop" / name
    shutil.copyfile(root / "samples" / "demo-intake.csv", target)


def ledger_deliveries(root: Path) -> list[DeliveryView]:
    ledger = Ledger(f"sqlite:///{root / 'state' / 'ledger.db'}", migrate=False)
    try:
        return deliveries(ledger)
    finally:
        ledger.close()


def outbox(root: Path) -> Path:
    return root / "partners" / PARTNER / "outbox"


def decrypt_ids(root: Path, package: Path) -> list[str]:
    """IntakeIDs of a package, decrypted with Debian's age and the demo partner's key."""
    age = age_binary()
    assert age, "Debian's age must be installed (make test installs it)"
    key = root / "demo-keys" / f"{PARTNER}.key"
    raw = subprocess.run(
        [age, "-d", "-i", str(key), str(package)], capture_output=True, check=True
    ).stdout
    plain = intake_text(raw)
    lines = plain.splitlines()
    column = lines[0].split(",").index("IntakeID")
    return [line.split(",")[column] for line in lines[1:]]


def remote_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def package_events(name: str, package_id: str, timeout: float = 120.0) -> list[dict[str, Any]]:
    """Events ``name`` about ``package_id`` on the test's Prefect server (waits for them)."""
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            page = client.read_events(
                EventFilter(
                    event=EventNameFilter(name=[name]),
                    resource=EventResourceFilter(id=[f"handoff.package.{package_id}"]),
                ),
                limit=50,
            )
            found = [
                e.model_dump(mode="json")
                for e in page.events
                if e.resource.id == f"handoff.package.{package_id}"
            ]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.5)
