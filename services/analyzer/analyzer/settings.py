"""The analyzer's settings, from `AIOPS_*` environment variables (listed in the README)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from .cycle import Timing
from .detection import DetectionConfig


class AnalyzerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AIOPS_", extra="ignore")

    database_url: SecretStr = SecretStr("postgresql://aiops:aiops@localhost:5432/aiops")
    analysis_interval: float = Field(5.0, gt=0, le=300, description="seconds between cycles")
    ingest_lag: float = Field(3.0, ge=0, le=60, description="seconds a window ends behind now")
    # The seed's knobs.
    latency_multiplier: float = Field(3.0, gt=1)
    error_rate_threshold: float = Field(0.2, ge=0, lt=1)
    min_samples: int = Field(5, ge=1)
    ewma_alpha: float = Field(0.1, gt=0, le=1)
    baseline_min_windows: int = Field(10, ge=1, description="windows before a baseline counts")
    anomaly_retention_s: float = Field(60.0, gt=0, description="how long an anomaly is active")

    def detection(self) -> DetectionConfig:
        return DetectionConfig(
            latency_multiplier=self.latency_multiplier,
            error_rate_threshold=self.error_rate_threshold,
            min_samples=self.min_samples,
            ewma_alpha=self.ewma_alpha,
            min_windows=self.baseline_min_windows,
            window_seconds=self.analysis_interval,
        )

    def timing(self) -> Timing:
        # Tumbling windows as long as the interval: each cycle reads what arrived since the last.
        return Timing(window_s=self.analysis_interval, ingest_lag_s=self.ingest_lag)
