"""The benchmark's arithmetic on constructed results: AC@k, TTD, groups, false-incident rates."""

from __future__ import annotations

import math

import pytest

from bench.rca.metrics import ac_at, avg_at, quantile, quiet, summarise
from bench.rca.results import CaseResult, FalseIncident, FaultResult, size_class


def fault(
    kind: str, engine: int | None, growth: int | None = None, *, ttd: float | None = 5.0
) -> FaultResult:
    detected = ttd is not None
    ranks = {"engine": engine, "growth": growth, "pagerank": None if not detected else 2}
    return FaultResult(
        "svc", None, kind, "2026-01-01T00:10:00+00:00", "2026-01-01T00:15:00+00:00", detected,
        ttd, ranks, {m: [] for m in ranks},
    )  # fmt: skip


def case(
    name: str,
    faults: list[FaultResult],
    *,
    split: str = "tune",
    services: int = 10,
    hours: float = 0.25,
    false: int = 0,
    error: str | None = None,
) -> CaseResult:
    incidents = [FalseIncident(f"INC-{n}", "t", "svc", [], "why") for n in range(false)]
    return CaseResult(
        name, split, "shop10", services, sorted({f.kind for f in faults}), False, False,
        not faults, faults, incidents, 1000, 100, hours * 3600, 1.0, error,
    )  # fmt: skip


def test_ac_at_k_counts_an_unranked_fault_as_a_miss() -> None:
    ranks = [1, 2, None, 4]
    assert ac_at(ranks, 1) == 0.25
    assert ac_at(ranks, 3) == 0.5
    assert math.isclose(avg_at(ranks), (0.25 + 0.5 + 0.5 + 0.75 + 0.75) / 5)
    assert ac_at([], 1) == 0.0


def test_quantile_interpolates_between_ranks() -> None:
    assert quantile([], 0.9) is None
    assert quantile([7.0], 0.9) == 7.0
    assert quantile([10.0, 0.0, 5.0], 0.5) == 5.0
    assert quantile([float(n) for n in range(11)], 0.9) == pytest.approx(9.0)


def test_topology_sizes_follow_the_issue() -> None:
    assert [size_class(n) for n in (6, 12, 13, 25, 26, 50)] == [
        "small", "small", "medium", "medium", "large", "large",
    ]  # fmt: skip


def test_false_incidents_per_24h_per_10_services_pools_service_hours() -> None:
    """count / hours x 24 / (services / 10), summed as total count over total service-hours."""
    one = quiet([case("q1", [], hours=6, services=10, false=2)])
    assert one.per_day_per_10 == pytest.approx(2 / 6 * 24 / 1)
    both = quiet(
        [
            case("q1", [], hours=6, services=10, false=2),
            case("q2", [], hours=6, services=40, false=1),
            case("q3", [], error="Boom"),  # a failed run adds no hours
        ]
    )
    assert (both.incidents, both.hours, both.service_hours) == (3, 12, 300)
    assert both.per_day_per_10 == pytest.approx(3 * 24 * 10 / 300)
    assert quiet([]).per_day_per_10 is None


def test_summary_groups_by_kind_split_and_size_and_judges_the_targets() -> None:
    results = [
        case("a", [fault("latency", 1, 2, ttd=4.0), fault("kill", 1, 1, ttd=8.0)]),
        case("b", [fault("latency", 3, 1, ttd=6.0)], split="holdout", services=40),
        case("c", [fault("cpu", None, None, ttd=None)]),
        case("quiet", [], hours=24, services=10, false=1),
        case("broken", [fault("cpu", 1)], error="RuntimeError: boom"),
    ]
    summary = summarise(results)
    overall = summary.overall
    assert (overall.faults, overall.detected) == (4, 3)
    assert overall.methods["engine"].ac1 == 0.5
    assert overall.methods["engine"].ac3 == 0.75
    assert overall.methods["growth"].ac1 == 0.5
    assert overall.ratio("growth") == 1.0
    assert overall.ttd_median_s == 6.0
    assert overall.ttd_median_windows == pytest.approx(1.2)
    kinds = {g.name: g for g in summary.by_kind}
    assert list(kinds) == ["latency", "cpu", "kill"]  # the issue's order of kinds
    assert kinds["latency"].methods["engine"].ac1 == 0.5
    assert kinds["cpu"].detection == 0.0
    assert [(g.name, g.faults) for g in summary.by_split] == [("tune", 3), ("holdout", 1)]
    assert [(g.name, g.faults) for g in summary.by_size] == [("small", 3), ("large", 1)]
    assert summary.fault_free.per_day_per_10 == pytest.approx(1.0)
    assert [r.id for r in summary.failed] == ["broken"]
    verdicts = {goal.name: goal.met for goal in summary.targets}
    assert verdicts == {
        "AC@1": False,
        "AC@3": False,
        "lowest AC@1 of a fault kind": False,
        "detection rate": False,
        "median TTD (windows)": True,
        "false incidents per 24 h per 10 services": True,
    }


def test_with_nothing_measured_every_target_is_missed() -> None:
    summary = summarise([])
    assert summary.overall.faults == 0
    assert not any(goal.met for goal in summary.targets)


def test_a_result_survives_its_json_form() -> None:
    original = case("a", [fault("latency", 1, 2)], false=1)
    assert CaseResult.from_json(original.as_json()) == original
    assert original.as_json()["size"] == "small"
