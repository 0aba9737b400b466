"""GET /anomalies, POST /analyze and GET /baselines: what detection saw and learned."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from aiops_api.common import ApiModel
from aiops_engine.detection import Anomaly, Baseline, Evidence, KeyKind, Tally
from aiops_engine.detection.model import Coupling, Hour, Season
from aiops_engine.incidents import RootCause
from aiops_engine.incidents.model import AnomalyEvidence
from aiops_engine.rca import Finding


class AnomalyRecord(AnomalyEvidence):
    """An anomaly as an incident holds it, with the traces it was seen in."""

    sample_trace_ids: list[str]

    @classmethod
    def of(cls, anomaly: Anomaly) -> AnomalyRecord:
        evidence = AnomalyEvidence.of(anomaly)
        return cls(**dict(evidence), sample_trace_ids=list(anomaly.sample_trace_ids))


class Anomalies(ApiModel):
    active: list[AnomalyRecord]  # those of the last `anomaly_retention_s`
    recent: list[AnomalyRecord]  # all of the last `minutes`, newest first


class Window(ApiModel):
    start: datetime
    end: datetime


class FoundCause(ApiModel):
    """One finding of a cycle: where its trouble starts, and why."""

    root_cause: RootCause
    confidence: float
    explanation: str

    @classmethod
    def of(cls, finding: Finding) -> FoundCause:
        cause = RootCause(service=finding.root_cause.service, endpoint=finding.root_cause.endpoint)
        return cls(root_cause=cause, confidence=finding.confidence, explanation=finding.explanation)


class CycleRun(ApiModel):
    analyzed: Literal[True]
    window: Window
    rows: int
    seconds: float
    anomalies: list[AnomalyRecord]
    root_causes: list[FoundCause]


class CycleSkipped(ApiModel):
    analyzed: Literal[False]
    reason: str


AnalyzeResult = Annotated[CycleRun | CycleSkipped, Field(discriminator="analyzed")]

# GET /baselines


class HourState(ApiModel):
    """`Hour` of the engine; `least_rate` is None while no window counted (its infinity)."""

    hour: int
    windows: int
    requests: int
    p50: float
    p50_sq: float
    far: float
    far_sq: float
    errors: float
    errors_sq: float
    least_rate: float | None

    @classmethod
    def of(cls, hour: Hour) -> HourState:
        least = None if hour.least_rate == float("inf") else hour.least_rate
        return cls(hour=hour.hour, windows=hour.windows, requests=hour.requests, p50=hour.p50,
                   p50_sq=hour.p50_sq, far=hour.far, far_sq=hour.far_sq, errors=hour.errors,
                   errors_sq=hour.errors_sq, least_rate=least)  # fmt: skip


class SeasonState(ApiModel):
    hours: list[HourState]
    current: HourState | None

    @classmethod
    def of(cls, season: Season) -> SeasonState:
        current = None if season.current is None else HourState.of(season.current)
        return cls(hours=[HourState.of(h) for h in season.hours], current=current)


class BaselineRecord(ApiModel):
    """A learned baseline: the engine's `Baseline`, its key spelled out, and whether it is
    established. The held, evidence, dropped, coupling and season state lives only in the
    leader's memory: from PostgreSQL it is always empty."""

    key: str  # "payment /payment" or "checkout → payment"
    kind: KeyKind
    service: str
    target: str
    level_ms: float
    spread_ms: float
    rate_per_s: float
    error_rate: float
    samples: int
    windows: int
    updated_at: datetime
    tail_ms: float
    slow_rate: float
    far_rate: float
    held_count: int
    held_slow: int
    held_far: int
    held_errors: int
    held_end: datetime | None
    evidence: Evidence
    traffic_windows: int
    dropped: Tally
    dropped_end: datetime | None
    coupling: Coupling
    season: SeasonState
    established: bool  # enough windows to judge latency and silence against

    @classmethod
    def of(cls, b: Baseline, *, established: bool) -> BaselineRecord:
        return cls(
            key=str(b.key), kind=b.key.kind, service=b.key.service, target=b.key.target,
            level_ms=b.level_ms, spread_ms=b.spread_ms, rate_per_s=b.rate_per_s,
            error_rate=b.error_rate, samples=b.samples, windows=b.windows,
            updated_at=b.updated_at, tail_ms=b.tail_ms, slow_rate=b.slow_rate,
            far_rate=b.far_rate, held_count=b.held_count, held_slow=b.held_slow,
            held_far=b.held_far, held_errors=b.held_errors, held_end=b.held_end,
            evidence=b.evidence, traffic_windows=b.traffic_windows, dropped=b.dropped,
            dropped_end=b.dropped_end, coupling=b.coupling, season=SeasonState.of(b.season),
            established=established,
        )  # fmt: skip


BASELINES: TypeAdapter[list[BaselineRecord]] = TypeAdapter(list[BaselineRecord])
