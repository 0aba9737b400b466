"""What can go wrong in a simulated system, and the truth a fault leaves for the scorecard."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class FaultKind(StrEnum):
    """The faults `generate` injects; docs/simulate.md says what each does to the spans."""

    LATENCY = "latency"  # an endpoint's own time x magnitude
    CPU = "cpu"  # every endpoint of a service spends x magnitude of its own time
    NETWORK = "network"  # calls into a service take + magnitude ms
    HTTP_ERROR = "http_error"  # an endpoint answers 500/503
    EXCEPTION = "exception"  # an endpoint raises, yet answers 200
    KILL = "kill"  # a service is gone: connections refused, nothing recorded
    DB_SLOW = "db_slow"  # one query of one database x magnitude
    DROP = "drop"  # a queue consumer handles a share of its messages: the rest are lost


# What `magnitude` means for each kind, and the range plan_case draws it from.
MAGNITUDES: dict[FaultKind, tuple[str, float, float]] = {
    FaultKind.LATENCY: ("factor on the endpoint's own time", 3.0, 20.0),
    FaultKind.CPU: ("factor on the service's own time", 2.0, 10.0),
    FaultKind.NETWORK: ("ms added to every call into the service", 80.0, 600.0),
    FaultKind.HTTP_ERROR: ("factor on a failing request's own time (fail fast < 1)", 0.2, 1.0),
    FaultKind.EXCEPTION: ("factor on a raising request's own time", 0.5, 1.0),
    FaultKind.KILL: ("ms a refused connection takes the caller", 1.0, 5.0),
    FaultKind.DB_SLOW: ("factor on the query's time", 5.0, 30.0),
    FaultKind.DROP: ("unused: a lost message takes no time", 1.0, 1.0),
}
# Kinds about one endpoint (or query label); the others are about a whole service.
ENDPOINT_KINDS = frozenset(
    {FaultKind.LATENCY, FaultKind.HTTP_ERROR, FaultKind.EXCEPTION, FaultKind.DB_SLOW}
)


@dataclass(frozen=True, slots=True)
class InjectedFault:
    """One fault: where, when, how much, and to what share of the requests it applies to."""

    kind: FaultKind
    service: str  # where it is injected: the database for db_slow, the callee for network
    endpoint: str | None  # a route template, a query label (db_slow), or None: every one
    start: datetime
    end: datetime
    share: float = 1.0  # 0 < share <= 1: the share of matching requests affected
    ramp_s: float = 0.0  # 0: a step; else the effect grows linearly to full over ramp_s
    magnitude: float = 1.0  # kind-specific, see MAGNITUDES

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", FaultKind(self.kind))
        if self.start.tzinfo is None or self.start.utcoffset() != timedelta(0):
            raise ValueError(f"fault start must be a UTC datetime, not {self.start!r}")
        if not self.end > self.start:
            raise ValueError(f"fault end {self.end} is not after its start {self.start}")
        if not 0 < self.share <= 1:
            raise ValueError(f"fault share must be in (0, 1], not {self.share}")
        if not (math.isfinite(self.ramp_s) and self.ramp_s >= 0):
            raise ValueError(f"fault ramp_s must be >= 0, not {self.ramp_s}")
        if not (math.isfinite(self.magnitude) and self.magnitude > 0):
            raise ValueError(f"fault magnitude must be a number > 0, not {self.magnitude}")

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()

    def truth(self) -> dict[str, Any]:
        """The fault as one entry of the truth file `aiops replay --truth` reads."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "service": self.service,
            "endpoint": self.endpoint,
            "kind": self.kind.value,
        }

    def describe(self) -> str:
        """One line for people: "latency x8.2 on catalog /api/products (100%, 180 s)"."""
        what = self.service if self.endpoint is None else f"{self.service} {self.endpoint}"
        amount = ""
        if self.kind is FaultKind.NETWORK:
            amount = f" +{self.magnitude:.0f} ms"
        elif self.kind in (FaultKind.LATENCY, FaultKind.CPU, FaultKind.DB_SLOW):
            amount = f" x{self.magnitude:.1f}"
        ramp = f", ramp {self.ramp_s:.0f} s" if self.ramp_s else ""
        return (
            f"{self.kind.value}{amount} on {what} ({self.share:.0%}, {self.duration_s:.0f} s{ramp})"
        )
