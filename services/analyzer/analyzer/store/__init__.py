"""The analyzer's PostgreSQL I/O, one module per concern.

Every function is one round trip on a connection the caller owns; the tables
are created by `analyzer/migrations/`, applied with
`apply_migrations(conn, component="analyzer", package="analyzer")`.

- `windows`: window aggregates from `telemetry`, and the analysis progress
- `baselines` and `seasons`: what the analyzer has learned
- `anomalies`: what it detected
- `traces`: spans of given traces and the dependency graph, for root causes
- `incident_history`: every incident change, appended
- `dashboard`: the dashboard's latency chart
- `rollups` and `retention`: per-minute rollups and day partitions, kept by housekeeping
- `metric_states`, `metric_judgements` and `business`: metric series (their learned
  states and hours, every point judged) and the business metrics from checkout's spans
"""

from . import (
    anomalies,
    baselines,
    business,
    dashboard,
    incident_history,
    metric_judgements,
    metric_states,
    retention,
    rollups,
    seasons,
    traces,
    windows,
)

# Settings of every analyzer session. Its statements read seconds of spans,
# but over weeks of day partitions the planner's estimate passes
# jit_above_cost, and compiling a statement took 20-30 ms, more than running
# it (`BENCH_ONLY=L make bench`: 9 ms cycles became 40 ms once five days were held).
SESSION_SETTINGS = {"jit": "off"}

__all__ = [
    "SESSION_SETTINGS",
    "anomalies",
    "baselines",
    "business",
    "dashboard",
    "incident_history",
    "metric_judgements",
    "metric_states",
    "retention",
    "rollups",
    "seasons",
    "traces",
    "windows",
]
