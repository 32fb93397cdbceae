"""Build a partner's delivery channel from its ``[[partners.delivery]]`` entry."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from connectors.delivery_email import EmailSend
from connectors.delivery_sftp import SftpPush
from hmis_handoff.config import DeliveryConfig, Settings
from hmis_handoff.delivery import Channel
from hmis_handoff.errors import ConfigError

__all__ = ["channel_config", "open_channel"]


def channel_config(settings: Settings, partner_id: str, channel_id: str) -> DeliveryConfig:
    """The delivery entry ``channel_id`` of ``partner_id``; ConfigError if unknown."""
    for ident, config in settings.partner(partner_id).channels():
        if ident == channel_id:
            return config
    raise ConfigError(f"partners.{partner_id}.delivery: no channel {channel_id!r}")


@contextlib.contextmanager
def open_channel(settings: Settings, partner_id: str, channel_id: str) -> Iterator[Channel]:
    """The channel, connected for the duration of the ``with`` block."""
    config = channel_config(settings, partner_id, channel_id)
    timeout = settings.delivery.timeout_seconds
    if config.kind == "email":
        yield EmailSend(config, channel_id=channel_id, data_path=settings.root, timeout=timeout)
        return
    assert config.key_file is not None and config.known_hosts is not None  # validated
    push = SftpPush(
        config.url,
        key_file=settings.data_path(config.key_file),
        known_hosts=settings.data_path(config.known_hosts),
        timeout=timeout,
    )
    try:
        yield push
    finally:
        push.close()
