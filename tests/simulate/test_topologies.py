"""The topologies have the shapes their names promise; traffic the volume and rhythm documented."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from aiops_engine.rows import SpanRecord
from aiops_simulate import TOPOLOGIES, Scenario
from aiops_simulate.traffic import Traffic

from .spans import records


def steady(topology: str, seconds: float = 120, hour: int = 12) -> list[SpanRecord]:
    start = datetime(2025, 3, 3, hour, tzinfo=UTC)
    return records(Scenario(11, topology, start, seconds, "steady"))


def by_id(spans: list[SpanRecord]) -> dict[str, SpanRecord]:
    return {r[8]: r for r in spans}


def test_shop10_is_a_web_shop_of_ten_services_a_database_and_a_cache() -> None:
    assert TOPOLOGIES["shop10"].services == [
        "frontend", "catalog", "cart", "currency", "recommendation", "ad", "shipping",
        "checkout", "payment", "email", "shop-db", "cart-cache",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("topology", "apps"),
    [("shop10", 10), ("chain6", 6), ("fanout15", 15), ("diamond12", 12), ("system40", 40),
     ("mesh50", 50)],
)  # fmt: skip
def test_each_topology_has_its_services_and_default_volume(topology: str, apps: int) -> None:
    system = TOPOLOGIES[topology]
    stores = {*system.databases, *system.caches}
    assert len([s for s in system.services if s not in stores]) == apps
    spans = steady(topology)
    assert 100 <= len(spans) / 120 <= 250, "spans per second at traffic level 1"
    assert {r[1] for r in spans} >= set(system.services) - stores, "every service serves"
    assert {r[11] for r in spans if r[3] in ("SQL", "")} >= stores - {None}


def test_chain6_calls_six_services_deep() -> None:
    spans = steady("chain6", 30)
    spans_by_id = by_id(spans)

    def depth(record: SpanRecord) -> int:
        servers = int(record[10] == "server")
        while record[9] is not None:
            record = spans_by_id[record[9]]
            servers += record[10] == "server"
        return servers

    assert max(depth(r) for r in spans) == 6


def test_diamond12_reaches_accounts_by_two_paths() -> None:
    spans = steady("diamond12", 60)
    callers = {r[1] for r in spans if r[10] == "client" and r[11] == "accounts"}
    assert callers == {"billing", "users"}


def test_system40_shares_databases_and_sends_async_messages_nobody_waits_for() -> None:
    spans = steady("system40", 60)
    users = Counter(db for db in {(r[1], r[11]) for r in spans if r[3] == "SQL"})
    assert max(Counter(db for _, db in users).values()) >= 10, "a database shared by many"
    spans_by_id = by_id(spans)
    consumed = [r for r in spans if r[10] == "server" and r[2].startswith("consume ")]
    assert consumed
    for record in consumed:
        assert record[3] == ""
        assert record[4] is None
        assert record[9] is not None
        publish = spans_by_id[record[9]]
        assert publish[10] == "client"
        assert publish[3] == ""
        assert publish[4] is None
        assert publish[11] == record[1]
        published_at = publish[0] + timedelta(milliseconds=publish[5])
        assert record[0] > published_at - timedelta(milliseconds=40), "after it, up to skew"


def test_calls_are_client_spans_whose_child_is_the_callees_server_span() -> None:
    spans = steady("shop10", 30)
    spans_by_id = by_id(spans)
    children = [r for r in spans if r[10] == "server" and r[9] is not None]
    assert children
    skewed = 0
    for child in children:
        assert child[9] is not None
        call = spans_by_id[child[9]]
        assert call[10] == "client"
        assert call[11] == child[1]
        assert call[2] == child[2]
        assert call[5] >= child[5] or call[12] == "timeout", "the caller waits for the callee"
        skewed += child[0] < call[0]
    assert skewed, "clocks disagree a little: some callees seem to start first"
    queries = [r for r in spans if r[3] == "SQL"]
    assert queries
    assert all(r[4] is None and r[11] == "shop-db" for r in queries)
    assert {r[10] for r in spans} == {"server", "client", "internal"}


def test_a_cron_like_job_runs_once_a_minute() -> None:
    spans = steady("shop10", 300)
    runs = [r for r in spans if r[2] == "/internal/reindex" and r[10] == "server"]
    assert len(runs) == 5
    assert all(r[9] is None and r[5] > 1000 for r in runs)


def test_diurnal_traffic_peaks_at_three_times_its_trough_and_bursty_adds_bursts() -> None:
    start = datetime(2025, 3, 3, tzinfo=UTC)
    diurnal = Traffic("diurnal", start, 1)
    assert diurnal.level(15 * 3600) == pytest.approx(3 * diurnal.level(3 * 3600))
    assert diurnal.mean(0, 86400) == pytest.approx(1.0, abs=0.01)
    bursty = Traffic("bursty", start, 1)
    ratios = [bursty.level(s) / diurnal.level(s) for s in range(0, 24 * 3600)]
    usual = Counter(round(r, 6) for r in ratios).most_common(1)[0][0]
    assert max(ratios) / usual >= 3.5
    assert min(ratios) / usual <= 0.3
    assert 0.7 < sum(round(r, 6) == usual for r in ratios) / len(ratios) < 0.9, "mostly no burst"
    assert sum(ratios) / len(ratios) == pytest.approx(1.0, abs=0.1)


def test_the_number_of_requests_follows_the_hour_of_the_day() -> None:
    def requests(hour: int) -> int:
        start = datetime(2025, 3, 3, hour, tzinfo=UTC)
        spans = records(Scenario(2, "shop10", start, 60, "diurnal"))
        return sum(r[9] is None for r in spans)

    assert 2.4 < requests(15) / requests(3) < 3.6
