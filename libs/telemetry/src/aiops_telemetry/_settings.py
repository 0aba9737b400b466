"""Settings every service shares, read from `AIOPS_*` environment variables."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ._limits import DEFAULT_MAX_BODY_BYTES


class ServiceSettings(BaseSettings):
    """Base settings for a shop service; each service subclasses it.

    Every field is read from `AIOPS_<FIELD>` (the README lists them all).
    """

    model_config = SettingsConfigDict(env_prefix="AIOPS_", extra="ignore")

    service_name: str
    # No password here: the deployment supplies it (compose builds it from POSTGRES_PASSWORD).
    database_url: SecretStr = SecretStr("postgresql://aiops@localhost:5432/aiops")
    max_body_bytes: int = Field(
        DEFAULT_MAX_BODY_BYTES, ge=1024, description="largest request body; larger ones get 413"
    )
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
