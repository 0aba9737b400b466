"""Each key's hours (aiops_engine.detection.season) in PostgreSQL: the hour being filled is
written every cycle it changes, so a restart or a new leader loses none of it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from aiops_engine.detection import Baseline, DetectionConfig, Hour, KeyKind, Season, SeriesKey
from aiops_engine.detection.season import HOUR_S
from aiops_telemetry import Connection

_SAVE_SQL = """
INSERT INTO analyzer_season_hours AS h (
    kind, service, target, hour, windows, requests, p50, p50_sq, far, far_sq, errors,
    errors_sq, least_rate
)
SELECT * FROM unnest(
    $1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::int[], $6::bigint[],
    $7::float8[], $8::float8[], $9::float8[], $10::float8[], $11::float8[], $12::float8[],
    $13::float8[]
)
ON CONFLICT (kind, service, target, hour) DO UPDATE SET
    windows = EXCLUDED.windows, requests = EXCLUDED.requests,
    p50 = EXCLUDED.p50, p50_sq = EXCLUDED.p50_sq,
    far = EXCLUDED.far, far_sq = EXCLUDED.far_sq,
    errors = EXCLUDED.errors, errors_sq = EXCLUDED.errors_sq,
    least_rate = EXCLUDED.least_rate
"""

# Each key's hours within `season_days` of its own newest: keys need not share a clock (a
# replayed recording next to live traffic), and the table is trimmed as hours are saved.
_LOAD_SQL = """
SELECT kind, service, target, hour, windows, requests, p50, p50_sq, far, far_sq, errors,
       errors_sq, least_rate
FROM (
    SELECT *, max(hour) OVER (PARTITION BY kind, service, target) AS newest
    FROM analyzer_season_hours
) h
WHERE hour > newest - make_interval(days => $1)
ORDER BY kind, service, target, hour
"""


def _moment(hour: int) -> datetime:
    return datetime.fromtimestamp(hour * HOUR_S, UTC)


async def save_hours(
    conn: Connection,
    baselines: Mapping[SeriesKey, Baseline],
    before: Mapping[SeriesKey, Baseline],
    config: DetectionConfig,
) -> None:
    """Write each key's hour being filled if this cycle changed it; forget old hours."""
    rows = [
        (key, current)
        for key, baseline in baselines.items()
        if (current := baseline.season.current) is not None
        and (key not in before or before[key].season.current != current)
    ]
    if rows:
        await conn.execute(
            _SAVE_SQL,
            [key.kind.value for key, _ in rows],
            [key.service for key, _ in rows],
            [key.target for key, _ in rows],
            [_moment(h.hour) for _, h in rows],
            [h.windows for _, h in rows],
            [h.requests for _, h in rows],
            [h.p50 for _, h in rows],
            [h.p50_sq for _, h in rows],
            [h.far for _, h in rows],
            [h.far_sq for _, h in rows],
            [h.errors for _, h in rows],
            [h.errors_sq for _, h in rows],
            [h.least_rate for _, h in rows],  # infinity is a float8 too
        )
        newest = max(h.hour for _, h in rows)
        kept = _moment(newest) - timedelta(days=config.season_days + 1)
        await conn.execute("DELETE FROM analyzer_season_hours WHERE hour < $1", kept)


async def load_seasons(conn: Connection, config: DetectionConfig) -> dict[SeriesKey, Season]:
    """Every key's hours of its last `season_days`: the newest one is the hour being filled
    (the next window folds into it, or closes it)."""
    hours: dict[SeriesKey, list[Hour]] = {}
    for row in await conn.fetch(_LOAD_SQL, config.season_days + 1):
        key = SeriesKey(KeyKind(row["kind"]), row["service"], row["target"])
        hours.setdefault(key, []).append(
            Hour(
                hour=math.floor(row["hour"].timestamp() / HOUR_S),
                windows=row["windows"],
                requests=row["requests"],
                p50=row["p50"],
                p50_sq=row["p50_sq"],
                far=row["far"],
                far_sq=row["far_sq"],
                errors=row["errors"],
                errors_sq=row["errors_sq"],
                least_rate=row["least_rate"],
            )
        )
    return {key: Season(tuple(found[:-1]), found[-1]) for key, found in hours.items()}
