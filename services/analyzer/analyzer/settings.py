"""The analyzer's settings, from `AIOPS_*` variables (docs/configuration.md lists them)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from aiops_engine.detection import DetectionConfig
from aiops_engine.incidents import IncidentPolicy
from aiops_engine.metrics import MetricConfig
from aiops_engine.rca import RcaConfig
from aiops_telemetry import AiopsSettings, Duration
from aiops_telemetry import parse_duration as parse_duration  # re-exported: tests read it here

from .cycle import Timing
from .incidents import WebhookTarget, parse_targets
from .metric_cycle import MetricWatch
from .store.retention import RetentionPolicy

# Comma-separated in the environment: AIOPS_WEBHOOK_URLS=http://a/hook,http://b/hook
UrlList = Annotated[list[str], NoDecode]


class AnalyzerSettings(AiopsSettings):
    """`AIOPS_<FIELD>` or `AIOPS_<FIELD>_FILE` for each field (docs/configuration.md lists them)."""

    redis_url: SecretStr = SecretStr("redis://localhost:6379/0")
    redis_password: SecretStr | None = Field(
        None, description="Redis password, unless AIOPS_REDIS_URL carries one"
    )
    # The login of the read-only role dashboards use (Grafana); unset, it cannot log in.
    reader_password: SecretStr | None = None
    analysis_interval: float = Field(5.0, gt=0, le=300, description="seconds between cycles")
    ingest_lag: float = Field(3.0, ge=0, le=60, description="seconds a window ends behind now")
    # The seed's knobs.
    latency_multiplier: float = Field(2.0, gt=1)
    error_rate_threshold: float = Field(0.05, ge=0, lt=1)
    min_samples: int = Field(5, ge=1)
    ewma_alpha: float = Field(0.1, gt=0, le=1)
    baseline_min_windows: int = Field(10, ge=1, description="windows before a baseline counts")
    anomaly_retention_s: float = Field(60.0, gt=0, description="how long an anomaly is active")
    season_days: int = Field(15, ge=1, le=60, description="days of hourly history kept per key")
    seasonal_min_days: int = Field(
        3, ge=1, le=7, description="days an hour needs before what is usual then is known"
    )
    # How long telemetry and its rollups are kept (whole day partitions are dropped).
    telemetry_retention: Duration = Field(timedelta(days=7), ge=timedelta(hours=1))
    rollup_retention: Duration = Field(timedelta(days=90), ge=timedelta(days=1))
    # OTLP metric points (metric_points); unset, as long as telemetry.
    metrics_retention: Duration | None = Field(None, ge=timedelta(hours=1))
    # Metric series (OTLP metrics, business metrics): how far behind now their window ends,
    # how long a level must hold to become the new normal, how long judgements are kept.
    metrics_lateness: float = Field(15.0, ge=0, le=600, description="seconds behind now")
    metric_new_normal_after: Duration = Field(timedelta(hours=2), ge=timedelta(minutes=1))
    metric_judgement_retention: Duration = Field(timedelta(days=7), ge=timedelta(hours=1))
    # Off when something else (pg_partman, Citus's create_time_partitions) manages them.
    partition_maintenance: bool = True
    # Root cause and incidents.
    correlation_window: float = Field(300.0, gt=0, description="seconds that group anomalies")
    resolve_after: float = Field(120.0, gt=0, description="quiet seconds before auto-resolve")
    incident_ttl: float = Field(3600.0, gt=0, description="seconds an incident lives in Redis")
    leader_ttl: float = Field(15.0, ge=1, description="seconds a silent leader keeps the lock")
    webhook_urls: UrlList = Field(default_factory=list)
    slack_webhook_urls: UrlList = Field(default_factory=list)
    webhook_timeout: float = Field(5.0, gt=0)
    webhook_retries: int = Field(3, ge=0, le=10)
    db_timeout: float = Field(
        5.0, gt=0, description="seconds to connect to PostgreSQL or wait for a pool connection"
    )

    @field_validator("webhook_urls", "slack_webhook_urls", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [url.strip() for url in value.split(",") if url.strip()]
        return value

    @model_validator(mode="after")
    def _resolve_within_correlation(self) -> AnalyzerSettings:
        if self.resolve_after > self.correlation_window:
            raise ValueError(
                "AIOPS_RESOLVE_AFTER must not exceed AIOPS_CORRELATION_WINDOW: an open "
                "incident must stay matchable, or its own anomalies would open a duplicate"
            )
        return self

    def redis_password_value(self) -> str | None:
        """The Redis password to send; None (also when set empty) leaves the URL's."""
        return self.redis_password.get_secret_value() or None if self.redis_password else None

    def reader_password_value(self) -> str | None:
        """The reader's password; None when unset or empty (compose passes "" then)."""
        value = self.reader_password.get_secret_value() if self.reader_password else ""
        return value or None

    def detection(self) -> DetectionConfig:
        return DetectionConfig(
            latency_multiplier=self.latency_multiplier,
            error_rate_threshold=self.error_rate_threshold,
            min_samples=self.min_samples,
            ewma_alpha=self.ewma_alpha,
            min_windows=self.baseline_min_windows,
            window_seconds=self.analysis_interval,
            season_days=self.season_days,
            seasonal_min_days=self.seasonal_min_days,
        )

    def timing(self) -> Timing:
        # Tumbling windows as long as the interval: each cycle reads what arrived since the last.
        return Timing(window_s=self.analysis_interval, ingest_lag_s=self.ingest_lag)

    def metric_watch(self) -> MetricWatch:
        # The engine keeps at least 8 days: a weekday's hour needs the last week's.
        config = MetricConfig(
            new_normal_after=self.metric_new_normal_after, season_days=max(self.season_days, 8)
        )
        return MetricWatch(config=config, lateness_s=self.metrics_lateness)

    def rca(self) -> RcaConfig:
        return RcaConfig(correlation_window_s=self.correlation_window)

    def incident_policy(self) -> IncidentPolicy:
        return IncidentPolicy(
            correlation_window_s=self.correlation_window, resolve_after_s=self.resolve_after
        )

    def retention(self) -> RetentionPolicy:
        return RetentionPolicy(
            telemetry=self.telemetry_retention,
            rollups=self.rollup_retention,
            metrics=self.metrics_retention,
        )

    def secret_values(self) -> list[str]:
        """The passwords and also the webhook URLs: their paths are tokens (Slack's are)."""
        return [*super().secret_values(), *self.webhook_urls, *self.slack_webhook_urls]

    def webhook_targets(self) -> list[WebhookTarget]:
        return parse_targets(self.webhook_urls, self.slack_webhook_urls)
