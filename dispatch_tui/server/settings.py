"""Every ``dispatch serve`` option, declared once, from flags, a TOML file and the environment.

One pydantic-settings model holds each option with its default and bounds.
Values come, most important first, from the command line, the ``--config``
file (keys named like the long flags, ``_`` for ``-``), ``DISPATCH_*``
environment variables, then the defaults. An unknown key or a bad value is a
:class:`SettingsError` naming the key.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class SettingsError(Exception):
    """The settings cannot be used; the message names the key and what is wrong."""


class ServeSettings(BaseSettings):
    """The relay's options; see ``docs/cli.md`` for what each does."""

    model_config = SettingsConfigDict(env_prefix="DISPATCH_", extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(8765, ge=0, le=65535)
    db: str | None = None
    max_message_bytes: int = Field(65536, ge=64)
    max_client_buffer: int = Field(2 << 20, ge=1024)
    write_interval: float = Field(0.01, ge=0, le=1)
    retention_messages: int = Field(1_000_000, ge=1)
    retention_days: float | None = Field(None, ge=0)
    compression: bool = False
    insecure: bool = False
    source: str | None = None
    source_format: str = "auto"
    demo: bool = False
    agent: str = "rules"
    model: str | None = None
    transcripts_room: str | None = None
    suggestions_room: str | None = None
    idle_gap: float = Field(1.2, ge=0)
    escalate_after: float = Field(30.0, ge=0)
    supervisors_room: str = Field("supervisors", min_length=1, max_length=64)
    auth: str | None = None
    origin: list[str] | None = None
    certfile: str | None = None
    keyfile: str | None = None
    rate_limit: float = Field(500.0, ge=0)
    rate_burst: int = Field(1000, ge=1)
    max_connections_per_address: int = Field(1000, ge=0)
    auth_timeout: float = Field(5.0, ge=0.1)
    redis: str | None = None
    ping_interval: float = Field(20.0, ge=0)
    ping_timeout: float = Field(20.0, ge=0)
    verbose: bool = False
    log_format: Literal["text", "json"] = "text"
    no_metrics: bool = False


def default(name: str) -> Any:
    """An option's default, for the command line's declaration of it."""
    return ServeSettings.model_fields[name].default


def load_settings(given: dict[str, Any], config: Path | None = None) -> ServeSettings:
    """Flags given on the command line, over the file, over the environment, over defaults."""
    if config is not None:
        try:
            tomllib.loads(config.read_text())
        except OSError as exc:
            raise SettingsError(f"cannot read {config}: {exc.strerror or exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{config} is not valid TOML: {exc}") from None

    class FromFile(ServeSettings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            if config is None:
                return (init_settings, env_settings)
            return (init_settings, TomlConfigSettingsSource(settings_cls, config), env_settings)

    try:
        return FromFile(**given)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "settings"
        where = f" in {config}" if config is not None else ""
        problem = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
        raise SettingsError(f"{key}{where}: {problem}") from None
