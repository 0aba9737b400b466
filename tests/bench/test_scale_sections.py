"""Sections J and K of `make bench`: their settings, K's synthetic keys, J's verdict on a step."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from bench.config import Config, ConfigError
from bench.cycle_keys import ENDPOINTS, SPANS, _window
from bench.ingest_sustained import Step

START = datetime(2025, 1, 1, tzinfo=UTC)


def test_the_scale_settings_default_small_and_refuse_a_key_count_that_is_no_whole_service() -> None:
    """Defaults keep J and K short; key counts are sorted, and each a whole number of services."""
    config = Config.from_env({"BENCH_CYCLE_KEYS": "10000, 1000"})
    assert config.cycle_keys == (1_000, 10_000)
    assert Config.from_env({}).sustained_seconds == 10
    with pytest.raises(ConfigError, match="multiple of 5"):
        Config.from_env({"BENCH_CYCLE_KEYS": "1001"})


def test_a_window_has_every_key_exactly_spans_times_and_a_ring_of_calls() -> None:
    """Keys = services x ENDPOINTS, SPANS spans each, inside the window; each call has its
    callee's server span as a child in the same trace."""
    services = 7
    rows = _window(random.Random(1), services, START, 5.0)
    keys = Counter(
        (kind, service, endpoint if kind == "server" else peer)
        for _, service, endpoint, _, _, _, _, _, _, _, kind, peer, _, _ in rows
    )
    assert len(keys) == services * ENDPOINTS
    assert set(keys.values()) == {SPANS}
    assert all(START <= row[0] < START + timedelta(seconds=5) for row in rows)
    by_span = {row[8]: row for row in rows}
    calls = 0
    for row in rows:
        parent = by_span.get(row[9] or "")
        if parent is not None and parent[10] == "client":
            assert (parent[11], parent[7]) == (row[1], row[7])  # its callee, in its trace
            calls += 1
    assert calls == services * SPANS


def _step(**changes: object) -> Step:
    fields: dict[str, object] = {
        "rate": 100_000, "offered": 99_900.0, "landed": 99_000.0, "dropped": 0, "lag_s": 0.2,
        "growth": 1_000.0, "postgres_cores": 0.9, "sink_cores": 0.4, "busiest_sink": 0.15,
        "machine": {"busy": 1.4, "iowait": 0.0, "steal": 0.0}, "waits": {"CPU": 0.7},
        "wal_mib_s": 30.0, "written": 1_000_000, "rows": 1_000_000,
    }  # fmt: skip
    return Step(**{**fields, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "kept_up"),
    [
        ({}, True),
        ({"dropped": 1}, False),
        ({"growth": 6_000.0}, False),  # the backlog grew by 6% of the rate
        ({"lag_s": 1.5}, False),
        ({"offered": 90_000.0}, False),  # the producers fell short, not PostgreSQL
    ],
)
def test_a_step_keeps_up_only_with_nothing_dropped_and_a_backlog_that_does_not_grow(
    changes: dict[str, object], kept_up: bool
) -> None:
    """Any one sign of falling behind fails the step."""
    assert _step(**changes).kept_up is kept_up


def test_other_load_is_what_the_machine_did_beyond_postgresql_and_the_sinks() -> None:
    """Someone else's load on the machine shows, so a low figure can be told from a slow one."""
    assert _step(machine={"busy": 2.0, "iowait": 0.0, "steal": 0.0}).other_cores == pytest.approx(
        0.7
    )
