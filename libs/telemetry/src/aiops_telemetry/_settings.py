"""Settings every service shares, read from `AIOPS_*` environment variables.

Any setting can instead be read from a file named by `AIOPS_<SETTING>_FILE`,
the convention of the official images (`POSTGRES_PASSWORD_FILE`) for Docker
secrets: the stack hands its generated passwords to the services that way.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SecretStr, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from .limits import DEFAULT_MAX_BODY_BYTES
from .logs import LogFormat, LogLevel, parse_format, parse_level

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([dhm]?)\s*")
_UNITS = {"d": "days", "": "days", "h": "hours", "m": "minutes"}


def parse_duration(value: object) -> object:
    """`7d`, `36h`, `90m`, or a bare number of days, as Prometheus' retention flags read."""
    if not isinstance(value, str):
        return value
    match = _DURATION.fullmatch(value.lower())
    if match is None:
        raise ValueError(f"{value!r} is not a duration: write it as 7d, 36h or 90m")
    return timedelta(**{_UNITS[match[2]]: float(match[1])})


# A period setting (a retention), written `7d`, `36h` or `90m`.
Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class FileVariables(PydanticBaseSettingsSource):
    """`<PREFIX><SETTING>_FILE=/path`: the setting is that file's content (less a final newline)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # all the work is in __call__

    def __call__(self) -> dict[str, Any]:
        prefix = str(self.config.get("env_prefix", ""))
        values: dict[str, Any] = {}
        for name in self.settings_cls.model_fields:
            variable = f"{prefix}{name}_FILE".upper()
            if not (path := os.environ.get(variable)):
                continue
            try:
                values[name] = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                raise SettingsError(f"{variable}={path}: cannot read it ({exc.strerror})") from exc
        return values


class AiopsSettings(BaseSettings):
    """What every service of the stack reads: `AIOPS_<FIELD>`, or `AIOPS_<FIELD>_FILE`.

    A variable set directly wins over its `_FILE` twin.
    """

    model_config = SettingsConfigDict(env_prefix="AIOPS_", extra="ignore")

    # No password in the URL by default: the deployment supplies it, here or in the URL.
    database_url: SecretStr = SecretStr("postgresql://aiops@localhost:5432/aiops")
    database_password: SecretStr | None = Field(
        None, description="PostgreSQL password; wins over one in AIOPS_DATABASE_URL"
    )
    max_body_bytes: int = Field(
        DEFAULT_MAX_BODY_BYTES, ge=1024, description="largest request body; larger ones get 413"
    )
    log_level: LogLevel = Field("INFO", description="DEBUG, INFO, WARNING, ERROR or CRITICAL")
    log_format: LogFormat | None = Field(
        None, description="console or json; unset, console on a terminal and json otherwise"
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level(cls, value: object) -> object:
        return parse_level(value)

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format(cls, value: object) -> object:
        return parse_format(value)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, FileVariables(settings_cls), file_secret_settings

    def database_password_value(self) -> str | None:
        """The password to log in with; None (also when set empty) leaves the URL's."""
        return self.database_password.get_secret_value() or None if self.database_password else None

    def secret_values(self) -> list[str]:
        """Every secret configured (the `SecretStr` fields), for the log redaction to mask."""
        values: list[str] = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            for item in value if isinstance(value, list | tuple) else [value]:
                if isinstance(item, SecretStr) and item.get_secret_value():
                    values.append(item.get_secret_value())
        return values


class ServiceSettings(AiopsSettings):
    """Base settings for a shop service; each service subclasses it.

    Every field is read from `AIOPS_<FIELD>` or `AIOPS_<FIELD>_FILE`
    (docs/configuration.md lists them).
    """

    service_name: str
    telemetry_max_buffered: int = Field(
        100_000, ge=100, description="rows held while PostgreSQL is away"
    )
    telemetry_batch_size: int = Field(
        5_000, ge=1, description="buffered rows that trigger an early flush"
    )
    telemetry_flush_interval: float = Field(0.5, gt=0, le=60, description="seconds between flushes")
    telemetry_exclude_paths: list[str] = Field(
        default_factory=lambda: ["/health"], description="paths not recorded (JSON list)"
    )
    work_ms: float = Field(5.0, ge=0, description="median simulated work per request, ms")
    work_jitter: float = Field(0.3, ge=0, le=2, description="log-normal sigma of that work")
    http_transport: Literal["aiohttp", "httpx"] = "aiohttp"
    # Failure injection (`/simulate`): disabled unless a token is set.
    chaos_token: SecretStr | None = Field(None, description="X-Chaos-Token the chaos API wants")
    chaos_max_ttl: float = Field(
        600.0, gt=0, le=86_400, description="seconds after which any fault removes itself"
    )


class DatabaseServiceSettings(ServiceSettings):
    """A shop service with tables of its own in PostgreSQL (`create_service_app`): its pool."""

    db_pool_size: int = Field(10, ge=1, le=100, description="connections to PostgreSQL")
    db_timeout: float = Field(5.0, gt=0, description="seconds a query or pool checkout may take")
