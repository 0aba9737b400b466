"""What one case or fault-free run gave: plain, picklable records, written as JSON as they are."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from aiops_engine.replay import ReplayConfig

GRACE_S = 60.0  # a fault's window runs this long past its end, as `aiops replay` scores it
WINDOW_S = ReplayConfig().window_s  # the analyzer's interval: TTD in windows is TTD / this
METHODS = ("engine", "growth", "pagerank")  # the engine, then the two reference rankers
LABELS = {"engine": "engine", "growth": "latency growth", "pagerank": "PageRank"}


def size_class(services: int) -> str:
    """The issue's topology sizes: small <= 12 services, medium <= 25, large above."""
    if services <= 12:
        return "small"
    return "medium" if services <= 25 else "large"


@dataclass(frozen=True, slots=True)
class FaultResult:
    """One injected fault: detected or not, how fast, and where each method ranked its service."""

    service: str
    endpoint: str | None
    kind: str
    start: str  # ISO 8601, simulated time
    end: str
    detected: bool
    ttd_s: float | None
    ranks: dict[str, int | None]  # by method; None: not detected, or the service not named
    top3: dict[str, list[str]]  # by method: the first three services it named
    share: float = 1.0  # of the requests it hits (partial faults: 0.1-0.3)
    magnitude: float = 1.0  # kind-specific (aiops_simulate.faults.MAGNITUDES)
    ramp_s: float = 0.0  # 0: a step


@dataclass(frozen=True, slots=True)
class FalseIncident:
    """An incident opened (or reopened) outside every fault's window."""

    incident: str
    at: str
    root_cause: str
    candidates: list[str]
    explanation: str


@dataclass(frozen=True, slots=True)
class CaseResult:
    """A fault case, or a fault-free run (`fault_free`, no faults), or a failed one (`error`)."""

    id: str
    split: str
    topology: str
    services: int  # in the topology; 0 when the run failed before knowing
    kinds: list[str]
    partial: bool
    ramp: bool
    fault_free: bool
    faults: list[FaultResult]
    false_incidents: list[FalseIncident]
    spans: int
    windows: int
    simulated_s: float
    wall_s: float
    error: str | None = None

    @property
    def size(self) -> str:
        return size_class(self.services)

    @property
    def hours(self) -> float:
        return self.simulated_s / 3600

    def as_json(self) -> dict[str, Any]:
        return {"size": self.size, **dataclasses.asdict(self)}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> CaseResult:
        fields = {f.name for f in dataclasses.fields(cls)}
        kept = {k: v for k, v in raw.items() if k in fields}
        kept["faults"] = [FaultResult(**f) for f in raw.get("faults", [])]
        kept["false_incidents"] = [FalseIncident(**f) for f in raw.get("false_incidents", [])]
        return cls(**kept)
