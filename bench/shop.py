"""D and E. The real shop: checkout throughput vs payment alone, then checkout's memory."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from tests.support.processes import ServiceProcess

from .cpu import CpuProbe, of_pid, probe
from .fleet import Context, Fleet, drained, rss_kib
from .measure import interleave
from .report import Check, Section, count, series_headers, series_row
from .wrk import Load, parse

CHECKOUT_BODY = {"items": [{"sku": "SKU-001", "quantity": 1}], "amount": 19.99, "currency": "USD"}
PAYMENT_BODY = {"amount": 19.99, "currency": "USD"}
CPU = ("checkout", "payment", "inventory", "postgres")


def run(ctx: Context, *, throughput: bool, memory: bool) -> list[Section]:
    cfg = ctx.config
    sections: list[Section] = []
    ctx.db.truncate()
    with Fleet(ctx.env) as fleet:
        print("D/E: starting payment, inventory and checkout", file=sys.stderr)
        work = {"AIOPS_WORK_MS": "0"}  # no simulated work: pure overhead
        payment = fleet.start("payment.app:create_app", work)
        inventory = fleet.start("inventory.app:create_app", work)
        checkout = fleet.start(
            "checkout.app:create_app",
            {**work, "AIOPS_PAYMENT_URL": payment.url, "AIOPS_INVENTORY_URL": inventory.url},
        )
        fresh_rss = rss_kib(checkout.pid)
        processes = {"payment": payment, "inventory": inventory, "checkout": checkout}
        checkout_load = Load(f"{checkout.url}/checkout", "POST", json.dumps(CHECKOUT_BODY))
        if throughput:
            payment_load = Load(f"{payment.url}/payment", "POST", json.dumps(PAYMENT_BODY))
            cpu = probe(
                {name: of_pid(p.pid) for name, p in processes.items()}
                | {"postgres": ctx.postgres_cpu}
            )
            sections.append(_throughput(ctx, payment_load, checkout_load, cpu))
        if memory:
            if not throughput:
                ctx.wrk.run(checkout_load, cfg.warmup)
            sections.append(_soak(ctx, checkout, checkout_load, fresh_rss))
        telemetry = {name: drained(p) for name, p in processes.items()}
    # The stack's sinks are checked once, after all of its load: on the last section run.
    last = sections[-1]
    last.checks.append(
        Check(
            "no_drops",
            all(t.dropped == 0 for t in telemetry.values()),
            ", ".join(f"{n} dropped {t.dropped}" for n, t in telemetry.items()),
        )
    )
    last.notes.append(
        "telemetry written: " + ", ".join(f"{n} {count(t.written)}" for n, t in telemetry.items())
    )
    last.data["telemetry"] = {n: t.as_json() for n, t in telemetry.items()}
    return sections


def _throughput(ctx: Context, payment: Load, checkout: Load, cpu: CpuProbe) -> Section:
    cfg = ctx.config
    section = Section(
        "D",
        f"Checkout throughput (AIOPS_WORK_MS=0): POST, {cfg.wrk_label}",
    )
    loads = {"payment (direct)": payment, "checkout": checkout}
    series = interleave(
        ctx.wrk,
        loads,
        rounds=cfg.rounds,
        seconds=cfg.duration,
        warmup=cfg.warmup,
        probes=dict.fromkeys(loads, cpu),
    )
    base = series["payment (direct)"]
    section.headers = series_headers("payment", CPU)
    section.rows = [series_row(name, s, base, CPU) for name, s in series.items()]
    shop = series["checkout"]
    failures = ctx.db.failures()
    if failures:
        section.notes.append("failures in telemetry: " + "; ".join(map(str, failures)))
    section.checks.append(Check.all_2xx("checkout_all_2xx", shop))
    section.data = {
        "variants": {name: s.as_json() for name, s in series.items()},
        "ratios": {"checkout/payment": round(shop.ratio(base), 4)},
        "failures": [str(f) for f in failures],
    }
    return section


def _soak(ctx: Context, checkout: ServiceProcess, load: Load, fresh_rss: int) -> Section:
    seconds = ctx.config.soak_seconds
    section = Section("E", f"Checkout memory: VmRSS over {seconds}s of sustained POST /checkout")
    print(f"E: {seconds}s of sustained checkout load", file=sys.stderr)
    interval = max(1.0, seconds / 60)
    started = time.monotonic()
    samples = [(0.0, rss_kib(checkout.pid))]
    wrk = ctx.wrk.start(load, seconds)
    try:
        while True:
            try:
                wrk.wait(timeout=interval)
                break
            except subprocess.TimeoutExpired:
                samples.append((time.monotonic() - started, rss_kib(checkout.pid)))
            if time.monotonic() - started > seconds + 60:
                raise RuntimeError("wrk did not stop on time")
        stdout, stderr = wrk.communicate()
    finally:
        if wrk.poll() is None:
            wrk.kill()
            wrk.wait()
    samples.append((time.monotonic() - started, rss_kib(checkout.pid)))
    result = parse(wrk.returncode, stdout, stderr)

    start, end = samples[0][1], samples[-1][1]
    mid = min(samples, key=lambda s: abs(s[0] - seconds / 2))[1]
    peak = max(kib for _, kib in samples)
    section.headers = ["checkout VmRSS", "MiB"]
    section.rows = [
        ["fresh (after start, before any load)", _mib(fresh_rss)],
        ["start of soak", _mib(start)],
        ["middle of soak", _mib(mid)],
        ["end of soak", _mib(end)],
        ["peak", _mib(peak)],
        ["growth (end - start)", _mib(end - start, signed=True)],
        ["growth, second half (end - middle)", _mib(end - mid, signed=True)],
    ]
    section.notes.append(
        f"soak load: {count(result.requests)} requests, {count(result.rps)} req/s, "
        f"non-2xx {count(result.non_2xx)}, socket errors {count(result.socket_errors)}"
    )
    section.checks.append(Check.all_2xx("soak_all_2xx", result))
    section.data = {
        "seconds": seconds,
        "rss_kib": {"fresh": fresh_rss, "start": start, "middle": mid, "end": end, "peak": peak},
        "growth_kib": end - start,
        "growth_second_half_kib": end - mid,
        "samples": [[round(t, 1), kib] for t, kib in samples],
        "load": {
            "requests": result.requests,
            "rps": round(result.rps, 1),
            "non_2xx": result.non_2xx,
            "socket_errors": result.socket_errors,
            "p50_ms": round(result.p50_ms, 3),
            "p99_ms": round(result.p99_ms, 3),
        },
    }
    return section


def _mib(kib: int, *, signed: bool = False) -> str:
    return f"{kib / 1024:+.1f}" if signed else f"{kib / 1024:.1f}"
