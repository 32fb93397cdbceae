"""E-mail delivery of a package: a :class:`~hmis_handoff.delivery.Channel` over SMTP.

The message carries the package's three files as attachments and a body with ids,
counts and hashes only (the package is age-encrypted and signed, so mail is a safe
carrier). Transport: STARTTLS (``security = "starttls"``, port 587) or implicit TLS
(``"tls"``, port 465), the server certificate always verified (``ca_file`` adds a
private CA); login when a username is set, the password read from ``password_file``
(0600) or the environment variable ``password_env`` at send time, never stored in the
config or shown in an error.

Mail cannot be looked up on the far side, so :meth:`EmailSend.find` always says "not
there"; the Message-ID is derived from the package and channel, so a resend after a
crash between sending and the ledger commit is the same message to the recipient.
"""

from __future__ import annotations

import hashlib
import os
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

from hmis_handoff.config import DeliveryConfig
from hmis_handoff.delivery import PackageFiles, Proof
from hmis_handoff.errors import ConfigError, RetriableError

__all__ = ["EmailSend", "read_secret"]


def read_secret(file: Path | None, env: str, what: str) -> str:
    """The secret from a 0600 file or an environment variable (named in the error only)."""
    if file is not None:
        try:
            st = file.stat()
        except OSError:
            raise ConfigError(f"{what}: password_file missing or unreadable") from None
        if st.st_mode & 0o077:
            raise ConfigError(f"{what}: password_file must be mode 0600")
        return file.read_text(encoding="utf-8").strip()
    if env:
        value = os.environ.get(env)
        if not value:
            raise ConfigError(f"{what}: environment variable {env} is not set")
        return value
    return ""


class EmailSend:
    """Send a package as attachments to ``config.to``."""

    kind = "email"

    def __init__(
        self, config: DeliveryConfig, *, channel_id: str, data_path: Path, timeout: float
    ) -> None:
        self.config = config
        self.channel_id = channel_id
        self.timeout = timeout
        self.ca_file = data_path / config.ca_file if config.ca_file else None
        self.password_file = data_path / config.password_file if config.password_file else None

    def find(self, package: PackageFiles) -> Proof | None:
        return None

    def message(self, package: PackageFiles) -> EmailMessage:
        """The message: ids, counts and hashes in the body; the three files attached."""
        message = EmailMessage()
        message["Subject"] = f"HMIS intake package {package.package_id}"
        message["From"] = self.config.sender
        message["To"] = ", ".join(self.config.to)
        message["Date"] = formatdate(localtime=False)
        token = hashlib.sha256(f"{package.package_id}/{self.channel_id}".encode()).hexdigest()
        message["Message-ID"] = f"<{token[:32]}@hmis-handoff>"
        message.set_content(
            "A new encrypted intake package for your agency to enter into HMIS.\n\n"
            f"Package: {package.package_id}\n"
            f"Partner: {package.partner_id}\n"
            f"Records: {package.record_count}\n"
            f"Ciphertext SHA-256: {package.ciphertext_sha256}\n\n"
            "Attached: the age-encrypted package, its manifest and the CoC's signature.\n"
            "Decrypt with `handoff decrypt <package>.age -i <your key> -o intake.csv`\n"
            "(it checks the signature first), or with any age v1 tool.\n"
            "Entry is due within 3 business days of intake.\n"
        )
        for path in package.files():
            message.add_attachment(
                path.read_bytes(),
                maintype="application",
                subtype="json" if path.suffix == ".json" else "octet-stream",
                filename=path.name,
            )
        return message

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)

    def send(self, package: PackageFiles) -> Proof:
        message = self.message(package)
        password = read_secret(
            self.password_file, self.config.password_env, f"delivery {self.channel_id}"
        )
        try:
            smtp: smtplib.SMTP
            if self.config.security == "tls":
                smtp = smtplib.SMTP_SSL(
                    self.config.host,
                    self.config.port,
                    timeout=self.timeout,
                    context=self._context(),
                )
            else:
                smtp = smtplib.SMTP(self.config.host, self.config.port, timeout=self.timeout)
            with smtp:
                smtp.ehlo()
                if self.config.security == "starttls":
                    smtp.starttls(context=self._context())
                    smtp.ehlo()
                if self.config.username:
                    smtp.login(self.config.username, password)
                smtp.send_message(message)
        except smtplib.SMTPAuthenticationError:
            raise ConfigError(f"delivery {self.channel_id}: SMTP login refused") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise RetriableError(f"e-mail not sent ({type(exc).__name__})") from None
        digest = hashlib.sha256(package.age.read_bytes()).hexdigest()
        return Proof(message["Message-ID"], digest)
