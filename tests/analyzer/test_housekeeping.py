"""Housekeeping's settings and its loop: retention read as a user writes it, and a round that
fails (no schema, database gone) counted and retried, never ending the loop."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from analyzer.housekeeping import Housekeeper
from analyzer.settings import AnalyzerSettings, parse_duration
from analyzer.store.retention import RetentionPolicy

UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1), "": None}


@given(st.integers(min_value=0, max_value=10_000), st.sampled_from(sorted(UNITS)))
def test_a_duration_reads_as_prometheus_retention_flags_do(amount: int, unit: str) -> None:
    """`7d`, `36h`, `90m`; a bare number is days."""
    assert parse_duration(f"{amount}{unit}") == amount * (UNITS[unit] or timedelta(days=1))


@given(st.text(st.characters(exclude_categories=["Nd"]), max_size=12))
def test_text_without_a_number_is_refused_with_the_forms_that_work(text: str) -> None:
    with pytest.raises(ValueError, match="7d, 36h or 90m"):
        parse_duration(text)


def test_retention_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIOPS_TELEMETRY_RETENTION", "36h")
    monkeypatch.setenv("AIOPS_ROLLUP_RETENTION", "30d")
    policy = AnalyzerSettings().retention()
    assert (policy.telemetry, policy.rollups) == (timedelta(hours=36), timedelta(days=30))
    monkeypatch.setenv("AIOPS_TELEMETRY_RETENTION", "10m")  # shorter than a day's partition
    with pytest.raises(ValidationError, match="telemetry_retention"):
        AnalyzerSettings()
    monkeypatch.setenv("AIOPS_TELEMETRY_RETENTION", "a week")
    with pytest.raises(ValidationError, match="7d, 36h or 90m"):
        AnalyzerSettings()


async def test_a_failing_round_is_counted_and_the_loop_goes_on(fresh_database_url: str) -> None:
    """With no schema every round fails; the loop keeps its schedule until stopped."""
    pool = await asyncpg.create_pool(fresh_database_url, min_size=1, max_size=1)
    try:
        keeper = Housekeeper(pool, RetentionPolicy(), rollup_every=0.01, partitions_every=0.01)
        stop = asyncio.Event()
        task = asyncio.create_task(keeper.run(stop))

        async def failed_twice() -> None:
            while keeper.stats.failures < 2:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(failed_twice(), 30)
        stop.set()
        await asyncio.wait_for(task, 30)
        assert keeper.stats.last_error is not None
        assert "does not exist" in keeper.stats.last_error
    finally:
        await pool.close()
