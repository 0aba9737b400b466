"""Learned baselines (`analyzer_baselines`): load them all, upsert a cycle's changes."""

from __future__ import annotations

from collections.abc import Mapping

from aiops_engine.detection import (
    Baseline,
    DetectionConfig,
    KeyKind,
    SeriesKey,
    is_established,
    latency_threshold,
)
from aiops_telemetry import Connection

_LOAD_BASELINES_SQL = """
SELECT kind, service, target, level_ms, spread_ms, rate_per_s, error_rate,
       samples, windows, updated_at, tail_ms, slow_rate, far_rate, traffic_windows
FROM analyzer_baselines
"""

# unnest of one array per column: any number of baselines in one statement.
_SAVE_BASELINES_SQL = """
INSERT INTO analyzer_baselines AS b (
    kind, service, target, level_ms, spread_ms, rate_per_s, error_rate,
    samples, windows, updated_at, threshold_ms, tail_ms, slow_rate, far_rate, traffic_windows
)
SELECT * FROM unnest(
    $1::text[], $2::text[], $3::text[], $4::float8[], $5::float8[], $6::float8[],
    $7::float8[], $8::bigint[], $9::bigint[], $10::timestamptz[], $11::float8[],
    $12::float8[], $13::float8[], $14::float8[], $15::bigint[]
)
ON CONFLICT (kind, service, target) DO UPDATE SET
    level_ms = EXCLUDED.level_ms,
    spread_ms = EXCLUDED.spread_ms,
    rate_per_s = EXCLUDED.rate_per_s,
    error_rate = EXCLUDED.error_rate,
    samples = EXCLUDED.samples,
    windows = EXCLUDED.windows,
    updated_at = EXCLUDED.updated_at,
    threshold_ms = EXCLUDED.threshold_ms,
    tail_ms = EXCLUDED.tail_ms,
    slow_rate = EXCLUDED.slow_rate,
    far_rate = EXCLUDED.far_rate,
    traffic_windows = EXCLUDED.traffic_windows,
    saved_at = now()
"""


async def load_baselines(conn: Connection) -> dict[SeriesKey, Baseline]:
    """Every stored baseline, by key."""
    baselines = {}
    for row in await conn.fetch(_LOAD_BASELINES_SQL):
        key = SeriesKey(KeyKind(row["kind"]), row["service"], row["target"])
        baselines[key] = Baseline(
            key=key,
            level_ms=row["level_ms"],
            spread_ms=row["spread_ms"],
            rate_per_s=row["rate_per_s"],
            error_rate=row["error_rate"],
            samples=row["samples"],
            windows=row["windows"],
            updated_at=row["updated_at"],
            tail_ms=row["tail_ms"],
            slow_rate=row["slow_rate"],
            far_rate=row["far_rate"],
            traffic_windows=row["traffic_windows"],
        )
    return baselines


async def save_baselines(
    conn: Connection,
    baselines: Mapping[SeriesKey, Baseline],
    config: DetectionConfig = DetectionConfig(),  # frozen, so one shared default is safe
) -> None:
    """Insert or overwrite the given baselines; keys not given are left as they are.

    Each is stored with the latency threshold `config` gives it (NULL while
    it is not established), for psql and Grafana to show.
    """
    if not baselines:
        return
    values = list(baselines.values())
    if misfiled := [key for key, b in baselines.items() if b.key != key]:
        raise ValueError(f"baselines stored under another key: {misfiled}")
    await conn.execute(
        _SAVE_BASELINES_SQL,
        [b.key.kind.value for b in values],
        [b.key.service for b in values],
        [b.key.target for b in values],
        [b.level_ms for b in values],
        [b.spread_ms for b in values],
        [b.rate_per_s for b in values],
        [b.error_rate for b in values],
        [b.samples for b in values],
        [b.windows for b in values],
        [b.updated_at for b in values],
        [latency_threshold(b, config) if is_established(b, config) else None for b in values],
        [b.tail_ms for b in values],
        [b.slow_rate for b in values],
        [b.far_rate for b in values],
        [b.traffic_windows for b in values],
    )
