"""Settings: one ``handoff.toml`` with ``HANDOFF_`` environment overrides.

Priority, highest first: environment (``HANDOFF_LEDGER__URL`` for ``[ledger] url``), then the
TOML file. Relative paths in the file are resolved against the file's own directory, so a
config can be moved together with its data root. Invalid settings raise
:class:`~hmis_handoff.errors.ConfigError` naming the field.

The config never holds private keys: partner entries carry age *recipients* only, and a
recipient list that contains ``AGE-SECRET-KEY-`` material is refused at load time.
"""

from __future__ import annotations

import os
import re
from datetime import date, time
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from hmis_handoff.data_root import check_data_root
from hmis_handoff.errors import ConfigError

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CONFIG_NAME",
    "AgencyConfig",
    "CalendarSettings",
    "DeliveryConfig",
    "DeliverySettings",
    "EmailSettings",
    "IntakeSettings",
    "LedgerSettings",
    "NotificationSettings",
    "PartnerConfig",
    "PrefectSettings",
    "RetentionSettings",
    "Settings",
    "ledger_url_usable",
    "load_settings",
    "resolve_config_path",
]

CONFIG_ENV = "HANDOFF_CONFIG"
DEFAULT_CONFIG_NAME = "handoff.toml"
_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,31}$"
_AGE_RECIPIENT = re.compile(r"^age1[02-9ac-hj-np-z]{58}$")


def ledger_url_usable(url: str) -> bool:
    """True if SQLAlchemy can parse ``url`` and load its dialect (SQLite or PostgreSQL)."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
        parsed.get_dialect()
    except Exception:  # any parse or plugin failure means "not usable"; its text may hold the URL
        return False
    return parsed.get_backend_name() in ("sqlite", "postgresql")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LedgerSettings(_Section):
    url: str = Field("", description="SQLAlchemy URL; empty means SQLite at state/ledger.db")

    @field_validator("url")
    @classmethod
    def _usable_url(cls, value: str) -> str:
        # Checked here so a typo fails at start-up with one line, not deep in a command;
        # the message never repeats the URL (it may hold a password).
        if value and not ledger_url_usable(value):
            raise ValueError(
                "not a usable database URL; use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
            )
        return value


class PrefectSettings(_Section):
    host: str = Field("127.0.0.1", description="address the embedded Prefect server binds")
    port: int = Field(4200, ge=1, le=65535, description="port of the embedded Prefect server")
    api_url: str = Field("", description="use an existing Prefect API instead of starting one")


class IntakeSettings(_Section):
    max_bytes: int = Field(50 * 2**20, gt=0, description="largest accepted intake file")
    max_rows: int = Field(200_000, gt=0, description="most data rows in one intake file")
    stable_seconds: float = Field(2.0, ge=0, description="size+mtime must hold this long")
    sweep_interval_seconds: float = Field(30.0, gt=0, description="watcher safety-net sweep")
    abandon_seconds: float = Field(
        86_400.0,
        gt=0,
        description="partial uploads, lock/temp/hidden files and subfolders left unchanged "
        "this long are answered (FILE-ABANDONED) and quarantined encrypted",
    )
    force_polling: bool | None = Field(
        None, description="true: poll (network shares); false: events; unset: auto-detect"
    )
    error_policy: Literal["send_valid_rows", "reject_file"] = Field(
        "send_valid_rows", description="default for agencies that do not set their own"
    )


class CalendarSettings(_Section):
    calendar: Literal["us-mo", "us-federal"] = "us-mo"
    business_days: int = Field(3, ge=1, le=30, description="days allowed for HMIS entry")
    due_soon_within: int = Field(1, ge=0, description="flag due_soon this many days ahead")
    cutoff: time = Field(time(17, 0), description="work received later counts from next day")
    clock_start: Literal["intake_date", "received"] = "intake_date"
    extra_closures: tuple[date, ...] = ()
    open_overrides: tuple[date, ...] = ()


class RetentionSettings(_Section):
    archive_days: int = Field(30, ge=0, description="purge encrypted originals after N days")
    rejected_days: int = Field(30, ge=0, description="purge encrypted rejected files after N days")


class EmailSettings(_Section):
    host: str = ""
    port: int = 25
    sender: str = "hmis-handoff@localhost"
    to: tuple[str, ...] = ()
    starttls: bool = False
    username: str = ""
    password: str = ""


class NotificationSettings(_Section):
    email: EmailSettings = EmailSettings()
    webhook_url: str = ""
    prefect_block: str = Field(
        "",
        description="Prefect notification block for the automations, as type-slug/name "
        "(e.g. slack-webhook/coc-ops); empty: a custom-webhook block made from webhook_url",
    )


class AgencyConfig(_Section):
    id: str = Field(pattern=_ID_PATTERN)
    name: str = Field(min_length=1, max_length=120)
    partner: str = Field(pattern=_ID_PATTERN, description="data partner under the MOA")
    victim_service_provider: bool = False
    error_policy: Literal["send_valid_rows", "reject_file"] | None = None
    date_order: Literal["us", "iso-only"] = Field(
        "us", description="us: accept M/D/YYYY besides yyyy-mm-dd; iso-only: yyyy-mm-dd only"
    )
    # Remote drop folder (issue #16): absent = the local drop folder only.
    drop_url: str = Field("", description="sftp://user@host:port/path of a remote drop folder")
    reports_url: str = Field("", description="remote reports folder; default: drop's sibling")
    key_file: Path | None = Field(None, description="SSH private key (0600), data-root relative")
    known_hosts: Path | None = Field(None, description="pinned host key(s), data-root relative")

    @field_validator("drop_url", "reports_url")
    @classmethod
    def _sftp_url(cls, value: str) -> str:
        return _check_sftp_url(value) if value else value

    @model_validator(mode="after")
    def _remote_needs_keys(self) -> AgencyConfig:
        if self.drop_url and (self.key_file is None or self.known_hosts is None):
            raise ValueError("drop_url needs key_file and known_hosts (host keys are pinned)")
        return self


def _check_sftp_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "sftp" or not parts.hostname or not parts.username:
        raise ValueError("expected sftp://user@host[:port]/path")
    if parts.password is not None:
        raise ValueError("no password in the URL: use key_file (key-only logins)")
    return value


class DeliveryConfig(_Section):
    """One delivery channel of a partner, beside the local outbox (issue #16).

    Secrets are never written here: SSH keys and SMTP passwords are files (0600) or
    environment variables named by ``password_env``.
    """

    kind: Literal["sftp", "email"]
    id: str = Field("", pattern=r"^([a-z0-9][a-z0-9-]{0,31})?$", description="default kind-N")
    # sftp
    url: str = ""
    key_file: Path | None = None
    known_hosts: Path | None = None
    # email
    to: tuple[str, ...] = ()
    sender: str = "hmis-handoff@localhost"
    host: str = ""
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls"] = "starttls"
    username: str = ""
    password_file: Path | None = None
    password_env: str = ""
    ca_file: Path | None = Field(None, description="CA bundle for a private relay's certificate")

    @model_validator(mode="after")
    def _complete(self) -> DeliveryConfig:
        if self.kind == "sftp":
            _check_sftp_url(self.url)
            if self.key_file is None or self.known_hosts is None:
                raise ValueError("sftp delivery needs key_file and known_hosts")
        else:
            if not self.to or not self.host:
                raise ValueError("email delivery needs host and to")
            if self.username and not (self.password_file or self.password_env):
                raise ValueError("email username needs password_file or password_env")
        return self


class DeliverySettings(_Section):
    retries: int = Field(4, ge=0, le=20, description="Prefect task retries per package+channel")
    backoff_seconds: float = Field(10.0, ge=0, description="first retry delay; doubles each time")
    timeout_seconds: float = Field(30.0, gt=0, description="connect/read timeout per transfer")


class PartnerConfig(_Section):
    id: str = Field(pattern=_ID_PATTERN)
    name: str = Field(min_length=1, max_length=120)
    recipients: tuple[str, ...] = Field(min_length=1, description="age X25519 recipients")
    delivery: tuple[DeliveryConfig, ...] = ()

    def channels(self) -> list[tuple[str, DeliveryConfig]]:
        """(channel id, config) for each delivery channel; ids default to ``kind-N``."""
        return [(d.id or f"{d.kind}-{n}", d) for n, d in enumerate(self.delivery, start=1)]

    @model_validator(mode="after")
    def _channel_ids_unique(self) -> PartnerConfig:
        ids = [ident for ident, _ in self.channels()]
        if len(ids) != len(set(ids)):
            raise ValueError("delivery: each channel needs its own id")
        return self

    @field_validator("recipients")
    @classmethod
    def _recipients_are_public(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for recipient in value:
            if "SECRET-KEY" in recipient.upper():
                raise ValueError(
                    "a private age identity was given; partners keep their identity and "
                    "send only the public recipient (age1...)"
                )
            if not _AGE_RECIPIENT.match(recipient):
                raise ValueError("not an age X25519 recipient (expected age1... , 62 chars)")
        return value


class Settings(BaseSettings):
    """The whole configuration; build it with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix="HANDOFF_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    config_path: Path = Field(Path(DEFAULT_CONFIG_NAME), exclude=True)
    data_root: Path = Field(Path("."), description="runtime tree; relative to the config file")
    timezone: str = "America/Chicago"
    coc_code: str = Field("MO-606", pattern=r"^[A-Z]{2}-[0-9]{3}$")
    archive_recipient: str = Field("", description="CoC archive key (age1...), never a secret")
    ledger: LedgerSettings = LedgerSettings()
    prefect: PrefectSettings = PrefectSettings()
    intake: IntakeSettings = IntakeSettings()
    calendar: CalendarSettings = CalendarSettings()
    retention: RetentionSettings = RetentionSettings()
    notifications: NotificationSettings = NotificationSettings()
    delivery: DeliverySettings = DeliverySettings()
    agencies: tuple[AgencyConfig, ...] = ()
    partners: tuple[PartnerConfig, ...] = ()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if settings_cls.model_config.get("toml_file"):
            sources.append(TomlConfigSettingsSource(settings_cls))
        return tuple(sources)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown IANA time zone") from exc
        return value

    @field_validator("archive_recipient")
    @classmethod
    def _archive_is_public(cls, value: str) -> str:
        if value and not _AGE_RECIPIENT.match(value):
            raise ValueError("not an age X25519 recipient (expected age1... , 62 chars)")
        return value

    @model_validator(mode="after")
    def _references_resolve(self) -> Settings:
        partner_ids = [p.id for p in self.partners]
        agency_ids = [a.id for a in self.agencies]
        for label, ids in (("partners", partner_ids), ("agencies", agency_ids)):
            seen: set[str] = set()
            for ident in ids:
                if ident in seen:
                    raise ValueError(f"{label}: id {ident!r} is listed twice")
                seen.add(ident)
        for agency in self.agencies:
            if agency.partner not in partner_ids:
                raise ValueError(
                    f"agencies.{agency.id}.partner: no partner with id {agency.partner!r}"
                )
        return self

    # Derived paths ------------------------------------------------------------------

    @property
    def root(self) -> Path:
        """The data root, absolute."""
        base = self.config_path.parent
        return (
            (base / self.data_root).resolve()
            if not self.data_root.is_absolute()
            else (self.data_root)
        )

    @property
    def ledger_url(self) -> str:
        """The ledger's SQLAlchemy URL (SQLite under ``state/`` unless configured)."""
        return self.ledger.url or f"sqlite:///{self.root / 'state' / 'ledger.db'}"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def agency(self, agency_id: str) -> AgencyConfig:
        """The agency with this id; raises ConfigError if unknown."""
        for agency in self.agencies:
            if agency.id == agency_id:
                return agency
        raise ConfigError(f"agencies: no agency with id {agency_id!r}")

    def partner(self, partner_id: str) -> PartnerConfig:
        """The partner with this id; raises ConfigError if unknown."""
        for partner in self.partners:
            if partner.id == partner_id:
                return partner
        raise ConfigError(f"partners: no partner with id {partner_id!r}")

    def data_path(self, path: Path) -> Path:
        """A configured path (key files, known_hosts), relative to the data root."""
        return path if path.is_absolute() else self.root / path

    def error_policy_for(self, agency_id: str) -> str:
        return self.agency(agency_id).error_policy or self.intake.error_policy


def resolve_config_path(explicit: Path | str | None = None) -> Path:
    """``explicit``, else ``$HANDOFF_CONFIG``, else ``./handoff.toml`` (absolute)."""
    raw = explicit or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_NAME
    return Path(raw).expanduser().resolve()


def load_settings(config: Path | str | None = None, **overrides: Any) -> Settings:
    """Load and validate settings; raise ConfigError naming the offending field."""
    path = resolve_config_path(config)
    if not path.is_file():
        raise ConfigError(
            f"config file not found: {path} (create one with `handoff init DIR`, "
            f"or pass --config / set {CONFIG_ENV})"
        )
    # pydantic-settings reads the TOML path from the class config, so each load gets its own
    # subclass; concurrent loads of different files cannot mix.
    loaded = type(
        "LoadedSettings",
        (Settings,),
        {"model_config": {**Settings.model_config, "toml_file": path}},
    )
    try:
        settings: Settings = loaded(config_path=path, **overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from None
    except ValueError as exc:  # TOML syntax errors surface as ValueError subclasses
        raise ConfigError(f"{path}: cannot parse TOML ({type(exc).__name__})") from None
    check_data_root(settings.root)
    return settings


def _describe(exc: ValidationError, path: Path) -> str:
    lines = [f"invalid configuration in {path}:"]
    for error in exc.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in error["loc"]) or "(file)"
        lines.append(f"  {field}: {error['msg']}")
    return "\n".join(lines)
