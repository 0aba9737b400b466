"""Day partitions ahead of time, and retention by dropping whole partitions.

`telemetry`, `telemetry_minutes`, `metric_points` and `metric_minutes` are
partitioned by day (migrations telemetry/0004, 0005 and analyzer/0009, 0010).
Each run creates the coming days' partitions and drops those wholly older
than the retention horizon — a `DROP TABLE`, so no row-by-row DELETE bloats
the table or stalls the analyzer. Before a telemetry day goes, the spans of the traces anomalies
cited are copied to `telemetry_evidence`, so an old incident's evidence
still opens. Every step is idempotent; replicas take turns on an advisory lock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiops_telemetry import COLUMNS, Connection

logger = logging.getLogger("analyzer.retention")

# pg_try_advisory_xact_lock key: one replica at a time maintains partitions.
_LOCK_KEY = 0x41494F5052  # "AIOPR"
# Each DDL step waits this long at most for a lock (a long Grafana query
# holds one); on timeout the run is retried next time, while writers queue
# behind a waiting DDL statement only this long.
_LOCK_TIMEOUT = "3s"

_KEEP_ALL = datetime(1970, 1, 1, tzinfo=UTC)  # a horizon before any OTLP time

_SPAN_COLUMNS = ", ".join(f'"{column}"' for column in ("id", *COLUMNS))

_PARTITIONS_SQL = """
SELECT partition::text AS name, CASE WHEN isfinite(lower) THEN lower END AS lower, upper
FROM aiops_partitions($1)
WHERE NOT is_default AND upper <= $2
ORDER BY upper
"""

# The spans of `{source}` (a partition) that started before $2, in traces an
# anomaly cited; anomalies are detected a little after their traces started,
# hence the hour's slack either side of the partition's range [$1, $2).
# Columns by name: the two tables need not have them in the same order.
_KEEP_EVIDENCE_SQL = f"""
INSERT INTO telemetry_evidence ({_SPAN_COLUMNS})
SELECT {_SPAN_COLUMNS} FROM {{source}} AS t
WHERE t."timestamp" < $2 AND t.trace_id IN (
    SELECT unnest(sample_trace_ids) FROM analyzer_anomalies
    WHERE detected_at >= coalesce($1::timestamptz - interval '1 hour', '-infinity')
        AND detected_at < $2::timestamptz + interval '1 hour'
)
"""  # noqa: S608 (composed of constants and catalog names only)


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    telemetry: timedelta = timedelta(days=7)  # AIOPS_TELEMETRY_RETENTION
    rollups: timedelta = timedelta(days=90)  # AIOPS_ROLLUP_RETENTION
    partition_span: timedelta = timedelta(days=1)
    ahead: timedelta = timedelta(days=2)  # partitions exist this far ahead of now
    metrics: timedelta | None = None  # AIOPS_METRICS_RETENTION; None: as telemetry

    @property
    def metric_points(self) -> timedelta:
        return self.metrics if self.metrics is not None else self.telemetry


@dataclass
class RetentionReport:
    created: int = 0
    dropped: list[str] = field(default_factory=list)
    evidence_spans: int = 0
    skipped: bool = False  # another replica held the lock


async def maintain_partitions(
    conn: Connection, policy: RetentionPolicy, *, now: datetime
) -> RetentionReport:
    """Create the coming partitions and drop the expired ones, keeping cited traces."""
    report = RetentionReport()
    # Raw days go once rolled up: after downtime, the minutes behind the rollups' mark wait.
    rolled: datetime | None = await conn.fetchval("SELECT through FROM telemetry_rollup_progress")
    # Metric days likewise, and none before their first rollup (housekeeping rolls up first).
    metrics_rolled: datetime | None = await conn.fetchval(
        "SELECT through FROM metric_rollup_progress"
    )
    horizons = {
        "telemetry": min(now - policy.telemetry, rolled or now),
        "telemetry_minutes": now - policy.rollups,
        "metric_points": min(now - policy.metric_points, metrics_rolled or _KEEP_ALL),
        "metric_minutes": now - policy.rollups,
    }
    async with conn.transaction():
        if not await _lock(conn):
            report.skipped = True
            return report
        # Stragglers in the default partition older than the horizon go with
        # the rebuild below: their evidence first.
        default = await conn.fetchval(
            "SELECT partition::text FROM aiops_partitions('telemetry') WHERE is_default"
        )
        if default is not None:
            report.evidence_spans += await _keep_evidence(
                conn, default, None, horizons["telemetry"]
            )
        for table, horizon in horizons.items():
            report.created += await conn.fetchval(
                "SELECT aiops_add_partitions($1, $2, $3, $4, $5)",
                table,
                policy.partition_span,
                policy.ahead,
                horizon,
                now,
            )
    for table, horizon in horizons.items():
        expired = await conn.fetch(_PARTITIONS_SQL, table, horizon)
        for row in expired:
            # One transaction per partition: the parent's lock is held briefly.
            async with conn.transaction():
                if not await _lock(conn):
                    report.skipped = True
                    return report
                if await conn.fetchval("SELECT to_regclass($1)", row["name"]) is None:
                    continue  # another replica dropped it meanwhile
                if table == "telemetry":
                    report.evidence_spans += await _keep_evidence(
                        conn, row["name"], row["lower"], row["upper"]
                    )
                await conn.execute(f"DROP TABLE IF EXISTS {row['name']}")
            report.dropped.append(row["name"])
            logger.info("retention: dropped %s (rows before %s)", row["name"], row["upper"])
    return report


async def _lock(conn: Connection) -> bool:
    await conn.execute(f"SET LOCAL lock_timeout = '{_LOCK_TIMEOUT}'")
    locked: bool = await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _LOCK_KEY)
    return locked


async def _keep_evidence(
    conn: Connection, source: str, lower: datetime | None, upper: datetime
) -> int:
    """Copy the cited traces' spans of `source` dated before `upper` to telemetry_evidence."""
    status: str = await conn.execute(_KEEP_EVIDENCE_SQL.format(source=source), lower, upper)
    return int(status.rsplit(" ", 1)[-1])
