"""automations.yaml applied to a real Prefect server: idempotent, each to a notification."""

from __future__ import annotations

from pathlib import Path

import pytest

from hmis_handoff.config import load_settings
from tests.conftest import run_cli

NAMES = {
    "handoff: records overdue",
    "handoff: file refused",
    "handoff: flow run failed or crashed",
    "handoff: deployment missed its schedule",
}


@pytest.mark.server
def test_automations_apply_idempotently_with_and_without_a_channel(
    prefect_api: str, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client

    from flows.automations import apply_automations, channel_warning, main

    root = tmp_path / "data"
    run_cli("init", str(root), "--demo")
    silent = load_settings(root / "handoff.toml")
    warning = channel_warning(silent)
    assert warning is not None and "no notification channel is configured" in warning

    assert set(apply_automations(silent)) == NAMES
    assert main(["--config", str(root / "handoff.toml")]) == 0  # the scale recipe's command
    with get_client(sync_client=True) as client:
        mine = [a for a in client.read_automations() if a.name in NAMES]
        assert sorted(a.name for a in mine) == sorted(NAMES)  # twice applied, once each
        assert all(a.enabled for a in mine)
        assert {action.type for a in mine for action in a.actions} == {"do-nothing"}

    wired = load_settings(
        root / "handoff.toml", notifications={"webhook_url": "http://127.0.0.1:9/hook"}
    )
    assert channel_warning(wired) is None
    apply_automations(wired)
    with get_client(sync_client=True) as client:
        mine = [a for a in client.read_automations() if a.name in NAMES]
        assert len(mine) == len(NAMES)
        blocks = {str(action.block_document_id) for a in mine for action in a.actions}  # type: ignore[union-attr]
        assert len(blocks) == 1
        block = client.read_block_document(next(iter(blocks)))
        assert block.name == "hmis-handoff-webhook"
        overdue = next(a for a in mine if a.name == "handoff: records overdue")
        assert overdue.trigger.expect == {"handoff.record.overdue"}  # type: ignore[union-attr]
