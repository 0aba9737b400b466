"""C. What one traced service-to-service call costs, per HTTP transport of the client."""

from __future__ import annotations

import sys

from .cpu import of_pid, probe
from .fleet import Context, Fleet, SinkCounts, drained
from .measure import interleave
from .report import Check, Goal, Section, count, per_round, ratio, series_headers, series_row
from .wrk import Load

TRANSPORTS = ("aiohttp", "httpx")  # aiohttp is the library's default
# aiohttp.ClientSession called directly, without httpx or a client span: the ceiling.
REFERENCE = "raw aiohttp (reference)"
ROWS_PER_HOP = 2  # the caller's server span and its client span
CPU = ("caller", "callee", "postgres")


def run(ctx: Context) -> Section:
    cfg = ctx.config
    section = Section(
        "C",
        f"Hop cost: caller GET /hop -> callee GET /ping, {cfg.wrk_label}",
    )
    ctx.db.truncate()
    with Fleet(ctx.env) as fleet:
        print("C: starting callee and one caller per transport", file=sys.stderr)
        callee = fleet.start("bench.apps:create_bare_app")
        callers = {
            transport: fleet.start(
                "bench.apps:create_caller_app",
                {
                    "AIOPS_CALLEE_URL": callee.url,
                    "AIOPS_HTTP_TRANSPORT": transport,
                    "AIOPS_SERVICE_NAME": _service(transport),
                },
            )
            for transport in TRANSPORTS
        }
        raw = fleet.start(
            "bench.apps:create_raw_aiohttp_caller_app",
            {"AIOPS_CALLEE_URL": callee.url, "AIOPS_SERVICE_NAME": "bench-caller-raw"},
        )
        # aiohttp (the goal) runs right before the direct baseline; see `interleave`.
        loads = {
            "caller (aiohttp)": Load(f"{callers['aiohttp'].url}/hop"),
            "direct callee": Load(f"{callee.url}/ping"),
            "caller (httpx)": Load(f"{callers['httpx'].url}/hop"),
            REFERENCE: Load(f"{raw.url}/hop"),
        }
        probes = {
            "direct callee": probe({"callee": of_pid(callee.pid), "postgres": ctx.postgres_cpu})
        }
        probes[REFERENCE] = probe(
            {"caller": of_pid(raw.pid), "callee": of_pid(callee.pid), "postgres": ctx.postgres_cpu}
        )
        probes |= {
            f"caller ({t})": probe(
                {
                    "caller": of_pid(p.pid),
                    "callee": of_pid(callee.pid),
                    "postgres": ctx.postgres_cpu,
                }
            )
            for t, p in callers.items()
        }
        series = interleave(
            ctx.wrk,
            loads,
            rounds=cfg.rounds,
            seconds=cfg.duration,
            warmup=cfg.warmup,
            probes=probes,
        )
        counts: dict[str, SinkCounts] = {}
        for transport, process in callers.items():
            counts[transport] = drained(process)
            process.stop()  # final flush before the rows are counted
    rows = {t: ctx.db.count(_service(t)) for t in TRANSPORTS}

    direct = series["direct callee"]
    shown = ("direct callee", *(f"caller ({t})" for t in TRANSPORTS), REFERENCE)
    section.headers = series_headers("direct", CPU)
    section.rows = [series_row(name, series[name], direct, CPU) for name in shown]
    ratios = {t: series[f"caller ({t})"].ratio(direct) for t in TRANSPORTS}
    section.goals.append(Goal("caller(aiohttp)/direct", ratios["aiohttp"], 0.4))
    section.notes.append(
        "ratios are medians of per-round ratios; per round caller(aiohttp)/direct = "
        + per_round(series["caller (aiohttp)"], direct)
    )
    section.notes.append(
        f"caller(httpx)/direct = {ratio(ratios['httpx'])} (no goal: not the default)"
    )
    reference = series[REFERENCE].ratio(direct)
    section.notes.append(
        f"{REFERENCE}/direct = {ratio(reference)}: httpx's API itself, not the transport, "
        "is most of the remaining cost"
    )

    slack = cfg.connections * (cfg.rounds + 1) * ROWS_PER_HOP
    for transport in TRANSPORTS:
        hops = series[f"caller ({transport})"]
        expected = hops.served * ROWS_PER_HOP
        got, sink = rows[transport], counts[transport]
        section.notes.append(
            f"telemetry ({transport}): {count(hops.served)} hops -> {count(got)} rows "
            f"(expected {count(expected)}+); sink written {count(sink.written)}, "
            f"dropped {count(sink.dropped)}"
        )
        section.checks += [
            Check(
                f"spans_landed_{transport}",
                expected <= got <= expected + slack,
                f"rows - 2*hops = {got - expected}, allowed 0..{slack}",
            ),
            Check(f"no_drops_{transport}", sink.dropped == 0, f"sink dropped {sink.dropped}"),
            Check.all_2xx(f"all_2xx_{transport}", hops),
        ]
    section.data = {
        "variants": {name: series[name].as_json() for name in shown},
        "ratios": {f"caller({t})/direct": round(r, 4) for t, r in ratios.items()}
        | {"raw_aiohttp_reference/direct": round(reference, 4)},
        "ratios_per_round": {
            f"caller({t})/direct": [round(r, 4) for r in series[f"caller ({t})"].ratios(direct)]
            for t in TRANSPORTS
        },
        "telemetry": {
            t: {"rows_in_table": rows[t], "sink_after_drain": counts[t].as_json()}
            for t in TRANSPORTS
        },
    }
    return section


def _service(transport: str) -> str:
    return f"bench-caller-{transport}"
