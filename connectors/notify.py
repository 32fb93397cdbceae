"""Outbound notifications: e-mail over SMTP and a JSON webhook.

PII-free by construction: callers pass text and payloads built by
:mod:`hmis_handoff.notices` from ids, dates and counts; nothing here reads the ledger or
any data file. Errors are :class:`~hmis_handoff.errors.RetriableError` with fixed text:
never the server's reply, the URL (a webhook URL often embeds a token) or the message.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from hmis_handoff.config import EmailSettings, NotificationSettings
from hmis_handoff.errors import ConfigError, RetriableError

__all__ = ["USER_AGENT", "email_configured", "post_webhook", "send_email", "send_notice"]

USER_AGENT = "hmis-handoff/1"


def email_configured(settings: EmailSettings) -> bool:
    """True when a host and at least one recipient are set."""
    return bool(settings.host and settings.to)


def send_email(settings: EmailSettings, subject: str, body: str, *, timeout: float = 30.0) -> bool:
    """Send a plain-text e-mail to ``settings.to``; False (nothing sent) if not configured.

    STARTTLS (certificate verified) when ``settings.starttls``; login when a username is
    set. Raises :class:`RetriableError` if the server cannot be reached or refuses.
    """
    if not email_configured(settings):
        return False
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.to)
    message.set_content(body)
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=timeout) as smtp:
            smtp.ehlo()
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if settings.username:
                smtp.login(settings.username, settings.password)
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise RetriableError(f"e-mail not sent ({type(exc).__name__})") from None
    return True


def post_webhook(url: str, payload: Mapping[str, Any], *, timeout: float = 10.0) -> int:
    """POST ``payload`` as JSON to ``url`` (http or https); returns the HTTP status.

    Raises:
        ConfigError: the URL is not http(s).
        RetriableError: no answer, or an answer outside 2xx.
    """
    if urlsplit(url).scheme not in ("http", "https"):
        raise ConfigError("notifications.webhook_url: must be an http or https URL")
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8"),
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        raise RetriableError(f"webhook answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise RetriableError(f"webhook not reached ({type(exc).__name__})") from None


def send_notice(
    settings: NotificationSettings, *, subject: str, text: str, payload: Mapping[str, Any]
) -> dict[str, str]:
    """Send by every configured channel; never raises.

    Returns ``{"email": ..., "webhook": ...}``, each ``sent``, ``off`` (not configured) or
    ``failed: <ErrorType ...>`` (fixed text). Both channels are always tried.
    """
    status: dict[str, str] = {}
    try:
        status["email"] = "sent" if send_email(settings.email, subject, text) else "off"
    except RetriableError as exc:
        status["email"] = f"failed: {exc}"
    if not settings.webhook_url:
        status["webhook"] = "off"
        return status
    try:
        post_webhook(settings.webhook_url, payload)
        status["webhook"] = "sent"
    except (RetriableError, ConfigError) as exc:
        status["webhook"] = f"failed: {exc}"
    return status
