"""Hand-built findings and anomalies for the incident tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiops_engine.detection import Anomaly, AnomalyType, SeriesKey
from aiops_engine.rca import Candidate, Dependency, DependencyGraph, Finding, Suspect

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
PAYMENT = Suspect("payment", "/payment")
INVENTORY = Suspect("inventory", "/inventory/reserve")
CHECKOUT = Suspect("checkout", "/checkout")


def later(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def anomaly(
    key: SeriesKey,
    kind: AnomalyType = AnomalyType.ERROR_SPIKE,
    *,
    at: float = 0.0,
    observed: float = 1.0,
    baseline: float | None = None,
    score: float = 0.9,
    traces: tuple[str, ...] = ("t1",),
) -> Anomaly:
    return Anomaly(
        type=kind,
        key=key,
        observed=observed,
        baseline=baseline,
        threshold=0.2,
        window_start=later(at - 5),
        window_end=later(at),
        sample_count=20,
        score=score,
        sample_trace_ids=traces,
        explanation=f"{key}: {kind} observed {observed}",
    )


def finding(
    root: Suspect,
    *anomalies: Anomaly,
    confidence: float = 1.0,
    traces: tuple[str, ...] = ("t1",),
    candidates: tuple[Candidate, ...] = (),
    explanation: str | None = None,
) -> Finding:
    """A finding naming `root` from `anomalies`, its ranking `candidates`: by default `root`
    alone, failed first in every trace."""
    alone = Candidate(root, confidence, len(traces), "failed first in 2/2 traces")
    return Finding(
        root_cause=root,
        candidates=candidates or (alone,),
        confidence=confidence,
        anomalies=anomalies,
        trace_ids=traces,
        explanation=explanation or f"{root} failed first in {len(traces)}/{len(traces)} traces",
    )


def payment_errors(at: float = 0.0, observed: float = 1.0) -> Finding:
    """Payment failing, seen at checkout too."""
    return finding(
        PAYMENT,
        anomaly(SeriesKey.endpoint("payment", "/payment"), at=at, observed=observed),
        anomaly(SeriesKey.endpoint("checkout", "/checkout"), at=at, observed=observed),
        anomaly(SeriesKey.edge("checkout", "payment"), at=at, observed=observed),
    )


def inventory_errors(at: float = 0.0) -> Finding:
    return finding(
        INVENTORY,
        anomaly(SeriesKey.endpoint("inventory", "/inventory/reserve"), at=at, observed=0.3),
    )


def shop_graph() -> DependencyGraph:
    return DependencyGraph.of(
        Dependency(caller, callee, 100, 0, T0, T0)
        for caller, callee in [
            ("checkout", "payment"),
            ("checkout", "inventory"),
            ("inventory", "postgres"),
        ]
    )
