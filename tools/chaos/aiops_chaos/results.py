"""What one scenario run found: ground truth next to what the analyzer concluded."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from aiops_api.analyzer import Incident


@dataclass(frozen=True, slots=True)
class RootCause:
    service: str
    endpoint: str | None = None

    def __str__(self) -> str:
        return self.service if self.endpoint is None else f"{self.service} {self.endpoint}"

    def matches(self, service: str, endpoint: str | None) -> bool:
        """Same service, and the same endpoint when both name one."""
        return self.service == service and (
            self.endpoint is None or endpoint is None or self.endpoint == endpoint
        )


@dataclass(frozen=True, slots=True)
class Sample:
    """One second of one endpoint's server spans, for the timeline."""

    at: datetime
    endpoint: str  # "payment /payment"
    requests: int
    errors: int
    p50_ms: float | None


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    """One scenario, scored. Field names are those of evaluation.json."""

    name: str
    description: str
    fault: str  # what was broken, in words: "payment /payment: delay 3000 ms"
    expected_root_cause: list[RootCause]  # empty for a no-fault control
    started_at: datetime  # traffic began (warm-up included)
    fault_at: datetime | None  # first fault injected; None for a control
    fault_until: datetime | None  # last fault cleared
    detected: bool  # every expected root cause has an incident (any incident, for a control)
    detected_at: datetime | None  # first incident opened or reopened after fault_at
    time_to_detect_s: float | None  # detected_at - fault_at
    rca_top1_correct: bool | None  # each expected cause is an incident's root cause (None: control)
    rca_top3_correct: bool | None  # ... or among its top three candidates
    false_positives: int  # incidents during the run naming no expected cause
    false_negatives: int  # expected causes no incident named
    incidents: list[Incident] = field(default_factory=list)  # as the analyzer returned them
    samples: list[Sample] = field(default_factory=list)  # the timeline's data
    notes: list[str] = field(default_factory=list)
    expected_business_metric: str | None = None  # a series whose anomaly the cause's incident holds
    business_metric_linked: bool | None = None  # ... and whether it did (None: none expected)
