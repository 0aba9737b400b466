"""The benchmark's two reference rankers: latency growth and personalized PageRank."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from aiops_engine.detection import Anomaly, AnomalyType, SeriesKey, WindowStats
from bench.rca.rankers import (
    Level,
    Observer,
    anomaly_weights,
    blamed,
    growth,
    learn_levels,
    pagerank,
    ranking,
    window_growth,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NAMES = st.sampled_from([f"svc{i}" for i in range(8)])


def window(
    key: SeriesKey, p50: float, *, errors: int = 0, count: int = 20, at: datetime = T0
) -> WindowStats:
    return WindowStats(
        key, at, at + timedelta(seconds=5), count, errors, 0, p50, p50, p50, p50, ("t1",)
    )


def anomaly(key: SeriesKey, score: float = 0.8, at: datetime = T0) -> Anomaly:
    return Anomaly(
        AnomalyType.LATENCY, key, 100.0, 10.0, 30.0, at, at + timedelta(seconds=5), 20, score,
        ("t1",), "slow",
    )  # fmt: skip


def ep(service: str) -> SeriesKey:
    return SeriesKey.endpoint(service, "GET /x")


class TestLevels:
    def test_a_key_is_learned_only_from_windows_no_anomaly_names(self) -> None:
        """The level follows healthy windows (EWMA, alpha 0.1) and ignores anomalous ones."""
        levels = learn_levels({}, [window(ep("a"), 10.0), window(ep("b"), 20.0)], [])
        levels = learn_levels(
            levels,
            [window(ep("a"), 20.0), window(ep("b"), 500.0)],
            [anomaly(ep("b"))],
        )
        assert levels[ep("a")].p50_ms == 11.0
        assert levels[ep("b")] == Level(20.0, 0.0)

    def test_a_window_with_too_few_requests_is_not_learned_nor_judged(self) -> None:
        """Below five requests a p50 is noise: no level, and a growth of 1."""
        sparse = window(ep("a"), 900.0, count=2)
        assert learn_levels({}, [sparse], []) == {}
        assert growth(sparse, Level(10.0, 0.0)) == 1.0


class TestGrowth:
    def test_latency_growth_is_a_ratio_to_the_level_with_a_one_ms_floor(self) -> None:
        assert growth(window(ep("a"), 29.0), Level(9.0, 0.0)) == 3.0

    def test_error_growth_compares_on_the_same_scale(self) -> None:
        """1% usual errors -> 20% is x4.2 with the 5% floor, not x20."""
        value = growth(window(ep("a"), 10.0, errors=4), Level(10.0, 0.01))
        assert math.isclose(value, 0.25 / 0.06)

    def test_zero_and_constant_latency_give_finite_results(self) -> None:
        assert growth(window(ep("a"), 0.0), Level(0.0, 0.0)) == 1.0
        assert growth(window(ep("a"), 7.0), Level(7.0, 0.0)) == 1.0
        assert growth(window(ep("a"), 5.0), Level(0.0, 0.0)) == 6.0

    def test_a_key_never_seen_healthy_is_judged_on_errors_alone(self) -> None:
        assert growth(window(ep("a"), 900.0), None) == 1.0
        assert growth(window(ep("a"), 900.0, errors=20), None) == 21.0

    def test_an_edge_is_about_its_callee(self) -> None:
        """A slow call into `db` grows `db`, not the caller that waited."""
        edge = SeriesKey.edge("api", "db")
        assert blamed(edge) == "db"
        scores = window_growth([window(edge, 50.0)], {edge: Level(10.0, 0.0)})
        assert scores == {"db": 51 / 11}
        assert anomaly_weights([anomaly(edge, 0.75), anomaly(ep("db"), 0.25)]) == {"db": 1.0}


class TestRanking:
    @given(st.dictionaries(NAMES, st.floats(0, 1e6, allow_nan=False)))
    def test_a_ranking_is_a_deterministic_permutation_of_the_candidates(
        self, scores: dict[str, float]
    ) -> None:
        ranked = ranking(scores)
        assert sorted(ranked) == sorted(scores)
        assert ranking(dict(reversed(list(scores.items())))) == ranked

    @given(
        st.lists(st.tuples(NAMES, NAMES), max_size=20),
        st.dictionaries(NAMES, st.floats(0, 10, allow_nan=False)),
    )
    def test_pagerank_scores_are_positive_and_add_up_to_one(
        self, edges: list[tuple[str, str]], personal: dict[str, float]
    ) -> None:
        scores = pagerank(edges, personal)
        assert set(scores) == {n for e in edges for n in e} | set(personal)
        if scores:
            assert math.isclose(sum(scores.values()), 1.0)
            assert all(s >= 0 for s in scores.values())

    @given(st.data())
    def test_on_a_call_graph_the_only_anomalous_service_ranks_first(
        self, data: st.DataObject
    ) -> None:
        """Call graphs have no cycles: what the walk hands down shrinks by the damping."""
        size = data.draw(st.integers(1, 8))
        pairs = [(i, j) for i in range(size) for j in range(i + 1, size)]
        chosen = data.draw(st.lists(st.sampled_from(pairs), unique=True) if pairs else st.just([]))
        edges = [(f"svc{i}", f"svc{j}") for i, j in chosen]
        culprit = f"svc{data.draw(st.integers(0, size - 1))}"
        assert ranking(pagerank(edges, {culprit: 0.6}))[0] == culprit

    def test_pagerank_without_anomalies_or_nodes_still_answers(self) -> None:
        assert pagerank([], {}) == {}
        uniform = pagerank([("a", "b"), ("b", "c")], {})
        assert math.isclose(sum(uniform.values()), 1.0)
        assert ranking(uniform)[0] == "c"  # everything flows down to where walks end

    def test_pagerank_walks_from_callers_to_callees(self) -> None:
        """Anomalies on a caller and its callee: the callee, where trouble starts, wins."""
        scores = pagerank([("front", "api"), ("api", "db")], {"front": 0.5, "api": 0.5})
        assert ranking(scores)[0] == "api"


class TestObserver:
    @given(
        st.dictionaries(NAMES, st.floats(1, 1000, allow_nan=False), min_size=1),
        st.data(),
    )
    def test_the_only_grown_service_ranks_first_by_growth(
        self, levels: dict[str, float], data: st.DataObject
    ) -> None:
        culprit = data.draw(st.sampled_from(sorted(levels)))
        observer = Observer()
        for n in range(3):
            at = T0 + timedelta(seconds=5 * n)
            observer.observe(at, [window(ep(s), p, at=at) for s, p in levels.items()], [])
        at = T0 + timedelta(seconds=15)
        slow = [window(ep(s), p * (10 if s == culprit else 1), at=at) for s, p in levels.items()]
        observer.observe(at, slow, [anomaly(ep(culprit), at=at)])
        ranked = observer.by_growth(T0, at)
        assert ranked[0] == culprit
        assert sorted(ranked) == sorted(levels)

    def test_only_anomalous_windows_inside_the_interval_count(self) -> None:
        observer = Observer()
        observer.observe(T0, [window(ep("a"), 10.0), window(ep("b"), 10.0)], [])
        later = T0 + timedelta(seconds=60)
        observer.observe(later, [window(ep("a"), 90.0, at=later)], [anomaly(ep("a"), at=later)])
        assert observer.by_growth(T0, later - timedelta(seconds=1)) == []
        assert observer.by_pagerank(T0, later - timedelta(seconds=1), [("b", "a")]) == []
        assert observer.by_growth(later, later) == ["a"]
        assert observer.by_pagerank(later, later, [("b", "a")]) == ["a", "b"]
