"""Apply ``automations.yaml`` to a Prefect server through its automations API, idempotently.

``handoff up`` calls :func:`apply_automations` at start; at scale run
``python -m flows.automations --config handoff.toml`` with ``PREFECT_API_URL`` set. An
automation whose name already exists is updated in place, so applying twice leaves exactly
one of each. Each ``send-notification`` action goes to the configured channel
(:func:`notification_block_id`); with none configured it becomes ``do-nothing`` and
:func:`hmis_handoff.runbook.channel_warning` says so.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import yaml
from prefect.blocks.core import Block
from prefect.blocks.notifications import CustomWebhookNotificationBlock
from prefect.client.orchestration import get_client
from prefect.events.schemas.automations import AutomationCore

from hmis_handoff.config import Settings, load_settings
from hmis_handoff.runbook import channel_warning

__all__ = [
    "AUTOMATIONS_FILE",
    "WEBHOOK_BLOCK",
    "apply_automations",
    "load_spec",
    "main",
    "notification_block_id",
]

AUTOMATIONS_FILE = Path(__file__).resolve().parent.parent / "automations.yaml"
WEBHOOK_BLOCK = "hmis-handoff-webhook"


def notification_block_id(settings: Settings) -> UUID | None:
    """The block the automations notify: the named Prefect block, or a custom-webhook block
    saved from ``webhook_url`` (posts ``{"subject", "body"}`` as JSON); None without either."""
    notes = settings.notifications
    if notes.prefect_block:
        block: Block = Block.load(notes.prefect_block)  # type: ignore[assignment]
        return block._block_document_id
    if notes.webhook_url:
        hook = CustomWebhookNotificationBlock(
            name="HMIS Handoff",
            url=notes.webhook_url,
            method="POST",
            json_data={"subject": "{{subject}}", "body": "{{body}}"},
            # The CoC's relay usually sits on its own network (or loopback in tests).
            allow_private_urls=True,
        )
        return cast(UUID, hook.save(WEBHOOK_BLOCK, overwrite=True))
    return None


def load_spec(path: Path = AUTOMATIONS_FILE) -> list[dict[str, Any]]:
    """The automations declared in the checked-in file."""
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    items: list[dict[str, Any]] = spec["automations"]
    return items


def _resolve(item: dict[str, Any], block_id: UUID | None) -> AutomationCore:
    actions = []
    for action in item["actions"]:
        if action["type"] == "send-notification":
            action = (
                {**action, "block_document_id": str(block_id)}
                if block_id is not None
                else {"type": "do-nothing"}
            )
        actions.append(action)
    return AutomationCore.model_validate({**item, "actions": actions})


def apply_automations(settings: Settings, path: Path = AUTOMATIONS_FILE) -> list[str]:
    """Create or update every automation in ``path``; returns their names."""
    block_id = notification_block_id(settings)
    wanted = [_resolve(item, block_id) for item in load_spec(path)]
    with get_client(sync_client=True) as client:
        for automation in wanted:
            existing = client.read_automations_by_name(automation.name)
            if existing:
                client.update_automation(existing[0].id, automation)
                for extra in existing[1:]:
                    client.delete_automation(extra.id)
            else:
                client.create_automation(automation)
    return [a.name for a in wanted]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Apply automations.yaml to PREFECT_API_URL.")
    parser.add_argument("--config", default=None, help="handoff.toml (default: HANDOFF_CONFIG)")
    args = parser.parse_args(argv)
    settings = load_settings(args.config)
    for name in apply_automations(settings):
        print(f"applied: {name}")
    warning = channel_warning(settings)
    if warning:
        print(warning)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
