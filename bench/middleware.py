"""A. What the telemetry middleware costs a minimal endpoint, and whether every span landed."""

from __future__ import annotations

import sys

from .config import Config
from .cpu import of_pid, probe
from .fleet import Context, Fleet, SinkCounts, drained
from .measure import Series, interleave
from .report import Check, Goal, Section, count, per_round, ratio, series_headers, series_row
from .wrk import Load

# Run order: each compared variant sits next to "bare" (see `interleave`).
APPS = {
    "instrumented": "bench.apps:create_instrumented_app",
    "bare": "bench.apps:create_bare_app",
    "bare #2": "bench.apps:create_bare_app",  # A/A control: the noise floor of this run
    "no access log": "bench.apps:create_instrumented_app",
    "basehttp": "bench.apps:create_basehttp_app",
}
# The same instrumented app logging at WARNING: what its INFO access line costs. Its rows go
# under a name of their own, so the row checks count the default variant's alone.
ENV = {"no access log": {"AIOPS_LOG_LEVEL": "WARNING", "AIOPS_SERVICE_NAME": "bench-quiet"}}
SHOWN = ("bare", "bare #2", "instrumented", "no access log", "basehttp")
SERVICE_NAME = "bench"  # BenchSettings' default: the instrumented app's rows
CPU = ("server", "postgres")


def run(ctx: Context) -> Section:
    cfg = ctx.config
    section = Section("A", f"Middleware overhead: GET /ping, {cfg.wrk_label}")
    ctx.db.truncate()
    with Fleet(ctx.env) as fleet:
        print("A: starting instrumented (twice: access log on, off), bare (twice)", file=sys.stderr)
        processes = {name: fleet.start(app, ENV.get(name)) for name, app in APPS.items()}
        probes = {
            name: probe({"server": of_pid(p.pid), "postgres": ctx.postgres_cpu})
            for name, p in processes.items()
        }
        series = interleave(
            ctx.wrk,
            {name: Load(f"{p.url}/ping") for name, p in processes.items()},
            rounds=cfg.rounds,
            seconds=cfg.duration,
            warmup=cfg.warmup,
            probes=probes,
        )
        instrumented = processes["instrumented"]
        counts = drained(instrumented)
        instrumented.stop()  # SIGTERM: the lifespan's final flush
    rows = ctx.db.count(SERVICE_NAME)

    bare = series["bare"]
    section.headers = series_headers("bare", CPU)
    section.rows = [series_row(name, series[name], bare, CPU) for name in SHOWN]
    ratios = {name: series[name].ratio(bare) for name in SHOWN if name != "bare"}
    section.goals.append(Goal("instrumented/bare", ratios["instrumented"], 0.90))
    section.notes += [
        "ratios are medians of per-round ratios; "
        f"per round instrumented/bare = {per_round(series['instrumented'], bare)}",
        f"noise floor (A/A): bare #2/bare = {ratio(ratios['bare #2'])}, "
        f"per round {per_round(series['bare #2'], bare)}",
        f"basehttp/bare = {ratio(ratios['basehttp'])} (reference: a do-nothing BaseHTTPMiddleware)",
        f"no access log/bare = {ratio(ratios['no access log'])}: the instrumented app at "
        "AIOPS_LOG_LEVEL=WARNING, without the INFO access line every request logs by default",
    ]
    section.notes.append(
        f"telemetry: wrk completed {count(series['instrumented'].served)} requests (warm-up "
        f"included); {count(rows)} rows in table; sink written {count(counts.written)}, "
        f"dropped {count(counts.dropped)}, failed flushes {counts.failed_flushes}"
    )
    section.checks += _telemetry_checks(series["instrumented"], rows, counts, cfg)
    section.data = {
        "variants": {name: series[name].as_json() for name in SHOWN},
        "ratios": {f"{name}/bare": round(value, 4) for name, value in ratios.items()},
        "ratios_per_round": {
            f"{name}/bare": [round(r, 4) for r in series[name].ratios(bare)] for name in ratios
        },
        "telemetry": {
            "requests_served": series["instrumented"].served,
            "rows_in_table": rows,
            "sink_after_drain": counts.as_json(),
        },
    }
    return section


def _telemetry_checks(served: Series, rows: int, counts: SinkCounts, cfg: Config) -> list[Check]:
    # A request in flight when wrk stops is served, and recorded, after wrk's count.
    slack = cfg.connections * (cfg.rounds + 1)
    extra = rows - served.served
    return [
        Check(
            "spans_landed",
            0 <= extra <= slack,
            f"rows - requests = {extra}, allowed 0..{slack} (in flight when wrk stopped)",
        ),
        Check("no_drops", counts.dropped == 0, f"sink dropped {counts.dropped}"),
        Check.all_2xx("all_2xx", served),
    ]
