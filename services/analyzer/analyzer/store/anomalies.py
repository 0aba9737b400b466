"""Detected anomalies (`analyzer_anomalies`): append a cycle's, read the recent ones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from aiops_engine.detection import (
    Anomaly,
    AnomalyType,
    KeyKind,
    SeriesKey,
)
from aiops_telemetry import Connection

_ANOMALY_COLUMNS = (
    "type, kind, service, target, observed, baseline, threshold, window_start, "
    "window_end, sample_count, score, sample_trace_ids, explanation"
)

_SAVE_ANOMALY_SQL = f"""
INSERT INTO analyzer_anomalies (detected_at, {_ANOMALY_COLUMNS})
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
"""  # noqa: S608 (composed of constants only)

# Newest cycle first; within a cycle, the order it was saved in (highest score first).
_RECENT_ANOMALIES_SQL = f"""
SELECT {_ANOMALY_COLUMNS}
FROM analyzer_anomalies
WHERE detected_at >= $1
ORDER BY detected_at DESC, id
LIMIT $2
"""  # noqa: S608 (composed of constants only)


async def save_anomalies(
    conn: Connection, anomalies: Sequence[Anomaly], *, detected_at: datetime
) -> None:
    """Append `anomalies`, found by the cycle at `detected_at`, to the history.

    executemany rather than unnest: the trace id lists differ in length, and
    PostgreSQL has no ragged arrays. asyncpg pipelines it in one round trip
    and runs it atomically.
    """
    if not anomalies:
        return
    await conn.executemany(
        _SAVE_ANOMALY_SQL,
        [
            (
                detected_at,
                a.type.value,
                a.key.kind.value,
                a.key.service,
                a.key.target,
                a.observed,
                a.baseline,
                a.threshold,
                a.window_start,
                a.window_end,
                a.sample_count,
                a.score,
                list(a.sample_trace_ids),
                a.explanation,
            )
            for a in anomalies
        ],
    )


async def recent_anomalies(conn: Connection, *, since: datetime, limit: int = 100) -> list[Anomaly]:
    """Anomalies detected at or after `since`, newest cycle first, at most `limit`."""
    rows = await conn.fetch(_RECENT_ANOMALIES_SQL, since, limit)
    return [
        Anomaly(
            type=AnomalyType(row["type"]),
            key=SeriesKey(KeyKind(row["kind"]), row["service"], row["target"]),
            observed=row["observed"],
            baseline=row["baseline"],
            threshold=row["threshold"],
            window_start=row["window_start"],
            window_end=row["window_end"],
            sample_count=row["sample_count"],
            score=row["score"],
            sample_trace_ids=tuple(row["sample_trace_ids"]),
            explanation=row["explanation"],
        )
        for row in rows
    ]
