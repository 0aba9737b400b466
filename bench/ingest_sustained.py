"""J. Sustained ingest: the spans/s one PostgreSQL takes from the sinks with nothing dropped.

Several sinks write at once, as several services do, each in a process of its
own (`bench.sink_producer`), offered shop-like spans at a steady rate in
steps that double until one falls behind; REFINE steps then bisect.
A step keeps up when the producers offered what was asked, nothing was
dropped and the backlog did not grow (a sink that falls behind piles rows up,
then drops them past `max_buffered`). What ran out is read from where the
machine's CPU went and what the sinks' backends waited on. The baseline is one
connection's raw binary COPY of the same rows, in the same run.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import asyncpg

from .fleet import Context
from .ingest import make_rows, raw_copy_seconds
from .report import Check, Goal, Section, count, ratio
from .sink_producer import Producer, stamped

# A healthy sink's backlog is a saw tooth of one flush interval: the means of a step's halves
# differ by a few percent of the rate at most; a sink 5% short falls behind by 5%.
GROWTH_SHARE = 0.05
MAX_LAG_S = 1.0  # backlog left at the step's end, in seconds of the asked rate
OFFERED_SHARE = 0.98  # below this share of the asked rate, the producers themselves fell short
RAW_ROUNDS = 3
OTHER_CORES = 0.3  # more, and someone else's load shared the machine: the figures are low
REFINE = 2
WAIT_SAMPLE_S = 0.1
# What each sink's backend is doing: on CPU (or runnable), waiting on a lock or on I/O
# (`type:event`), or waiting for its sink to send more.
_WAITS_SQL = """
SELECT CASE
    WHEN state = 'idle' OR wait_event = 'ClientRead' THEN 'waiting for the sink'
    WHEN wait_event IS NULL THEN 'CPU'
    ELSE wait_event_type || ':' || wait_event
END
FROM pg_stat_activity
WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND datname = current_database()
"""


@dataclass(frozen=True, slots=True)
class Step:
    """One rate, all producers together; rates in spans/s, CPU in cores."""

    rate: int
    offered: float
    landed: float  # rows written during the step
    dropped: int
    lag_s: float
    growth: float  # spans/s the backlog grew by, first half's mean to the second's
    postgres_cores: float  # the cluster's process tree
    sink_cores: float  # the producer processes
    busiest_sink: float
    machine: dict[str, float]  # busy, iowait, steal: cores of the whole machine
    waits: dict[str, float]  # share of the backends' samples in each state
    wal_mib_s: float
    written: int  # once every sink closed
    rows: int  # in the table then

    @property
    def other_cores(self) -> float:
        """Busy with neither PostgreSQL nor the sinks: the harness, or someone else's load."""
        return max(0.0, self.machine["busy"] - self.postgres_cores - self.sink_cores)

    @property
    def kept_up(self) -> bool:
        return (
            self.offered >= OFFERED_SHARE * self.rate
            and self.dropped == 0
            and self.growth <= GROWTH_SHARE * self.rate
            and self.lag_s <= MAX_LAG_S
        )

    def cells(self) -> list[str]:
        cores = (self.postgres_cores, self.sink_cores, self.other_cores)
        per_span = self.postgres_cores * 1e6 / max(self.landed, 1)
        return [
            *map(count, (self.rate, self.offered, self.landed, self.dropped)),
            *(f"{self.lag_s:.2f}", count(self.growth), *(f"{c:.2f}" for c in cores)),
            *(f"{per_span:.1f}", f"{self.wal_mib_s:.1f}", "yes" if self.kept_up else "NO"),
        ]


HEADERS = [
    "asked/s", "offered/s", "landed/s", "dropped", "lag s", "backlog +/s", "PG cores",
    "sink cores", "other cores", "PG us/span", "WAL MiB/s", "kept up",
]  # fmt: skip


def machine_cpu() -> dict[str, float]:
    """CPU seconds of the whole machine so far (/proc/stat): busy, waiting for I/O, stolen."""
    with open("/proc/stat") as stat:
        user, nice, system, _, iowait, irq, softirq, steal = map(int, stat.readline().split()[1:9])
    tick = os.sysconf("SC_CLK_TCK")
    return {"busy": (user + nice + system + irq + softirq) / tick, "iowait": iowait / tick,
            "steal": steal / tick}  # fmt: skip


async def _wal(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')"))


async def _sample_waits(conn: asyncpg.Connection, *, until: float) -> dict[str, float]:
    seen: Counter[str] = Counter()
    while time.time() < until:
        seen.update(str(row[0]) for row in await conn.fetch(_WAITS_SQL))
        await asyncio.sleep(min(WAIT_SAMPLE_S, max(0.0, until - time.time())))
    total = sum(seen.values()) or 1
    return {state: round(n / total, 3) for state, n in seen.most_common()}


def _shares(waits: dict[str, float], top: int = 4) -> str:
    return ", ".join(f"{state} {share:.0%}" for state, share in list(waits.items())[:top])


async def _step(ctx: Context, conn: asyncpg.Connection, rate: int) -> Step:
    """`rate` spans/s shared by the producers for one step, into an empty table."""
    sinks, seconds = ctx.config.sustained_sinks, ctx.config.sustained_seconds
    print(f"J: {count(rate)} spans/s for {seconds} s", file=sys.stderr, flush=True)
    await conn.execute("TRUNCATE telemetry")
    command = (sys.executable, "-m", "bench.sink_producer", str(rate / sinks), str(seconds))
    pipe, env = asyncio.subprocess.PIPE, {**os.environ, **ctx.env}
    procs = [
        await asyncio.create_subprocess_exec(*command, stdin=pipe, stdout=pipe, env=env)
        for _ in range(sinks)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            if (line := await asyncio.wait_for(proc.stdout.readline(), 60)).strip() != b"ready":
                raise RuntimeError(f"a producer did not start: {line!r}")
        start_at = time.time() + 0.2  # all at once, each connected
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(f"{start_at}\n".encode())
            await proc.stdin.drain()
        await asyncio.sleep(start_at - time.time())
        cpu, wal, machine = ctx.postgres_cpu(), await _wal(conn), machine_cpu()
        waits = await _sample_waits(conn, until=start_at + seconds)
        # Read while every sink's connection is open: a backend's CPU leaves with it.
        cpu, wal = ctx.postgres_cpu() - cpu, await _wal(conn) - wal
        machine = {k: (v - machine[k]) / seconds for k, v in machine_cpu().items()}
        outputs = [await asyncio.wait_for(proc.communicate(), 180) for proc in procs]
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    if failed := [proc.returncode for proc in procs if proc.returncode]:
        raise RuntimeError(f"producers exited with {failed}")
    ps = [Producer(**json.loads(out)) for out, _ in outputs]
    half = seconds / 2
    return Step(
        rate, offered=sum(p.recorded for p in ps) / seconds,
        landed=sum(p.written for p in ps) / seconds, dropped=sum(p.final_dropped for p in ps),
        lag_s=sum(p.backlog for p in ps) / rate,
        growth=sum(p.mean_backlog[1] - p.mean_backlog[0] for p in ps) / half,
        postgres_cores=cpu / seconds, sink_cores=sum(p.cpu_s for p in ps) / seconds,
        busiest_sink=max(p.cpu_s for p in ps) / seconds, machine=machine, waits=waits,
        wal_mib_s=wal / seconds / 2**20, written=sum(p.final_written for p in ps),
        rows=int(await conn.fetchval("SELECT count(*) FROM telemetry")),
    )  # fmt: skip


async def _measure(ctx: Context) -> tuple[list[float], list[Step]]:
    cfg = ctx.config
    rows = [stamped(row, datetime.now(UTC)) for row in make_rows(cfg.ingest_rows)]
    conn: asyncpg.Connection = await asyncpg.connect(ctx.db.dsn, timeout=10)
    try:
        raw_s = []
        for _ in range(RAW_ROUNDS):
            await conn.execute("TRUNCATE telemetry")
            raw_s.append(await raw_copy_seconds(ctx.db.dsn, rows, cfg.ingest_batch))
        steps = [await _step(ctx, conn, cfg.sustained_start)]
        while steps[-1].kept_up and steps[-1].rate * 2 <= cfg.sustained_max:
            steps.append(await _step(ctx, conn, steps[-1].rate * 2))
        for _ in range(REFINE):  # halfway between the last good rate and the first bad one
            good = [s.rate for s in steps if s.kept_up]
            bad = [s.rate for s in steps if not s.kept_up]
            if good and bad:
                steps.append(await _step(ctx, conn, (max(good) + min(bad)) // 2))
        await conn.execute("TRUNCATE telemetry")  # leave the next section an empty table
        return raw_s, sorted(steps, key=lambda s: s.rate)
    finally:
        await conn.close()


def _saturated(step: Step, cores: int) -> str:
    """What ran out at `step`: the producers, or the CPU, or neither (then the backends' waits
    say what held them)."""
    if step.offered < OFFERED_SHARE * step.rate:
        return f"the producers (they offered {count(step.offered)} spans/s)"
    busy = step.machine["busy"]
    return (
        f"{'CPU' if busy >= 0.9 * cores else 'not CPU'}: {busy:.2f} of {cores} cores busy, "
        f"{step.postgres_cores:.2f} in PostgreSQL, {step.sink_cores:.2f} in the sinks, "
        f"{step.other_cores:.2f} other"
    )


def run(ctx: Context) -> Section:
    cfg = ctx.config
    cores = os.cpu_count() or 1
    section = Section(
        "J",
        f"Sustained ingest: {cfg.sustained_sinks} sink processes, "
        f"{cfg.sustained_seconds} s steps from {count(cfg.sustained_start)} spans/s",
    )
    raw_s, steps = asyncio.run(_measure(ctx))
    raw_rate = statistics.median(cfg.ingest_rows / s for s in raw_s)
    good, bad = [s for s in steps if s.kept_up], [s for s in steps if not s.kept_up]
    best = max(good, key=lambda s: s.rate) if good else None
    sustained, limit = best.rate if best else 0, bad[0] if bad else steps[-1]
    saturated = _saturated(limit, cores)
    section.headers = HEADERS
    section.rows = [s.cells() for s in steps]
    section.notes += [
        f"raw COPY baseline, one connection, {count(cfg.ingest_batch)}-row batches: "
        f"{count(raw_rate)} rows/s (median of {RAW_ROUNDS} x {count(cfg.ingest_rows)} rows)",
        f"sustained: {count(sustained)} spans/s = {ratio(sustained / raw_rate)} x raw COPY; at "
        f"{count(limit.rate)}/s ({'fell behind' if bad else 'the last step'}) what ran out: "
        f"{saturated} ({limit.machine['iowait']:.2f} in I/O wait, "
        f"{limit.machine['steal']:.2f} stolen)",
        *(f"sinks' backends at {count(s.rate)}/s: {_shares(s.waits)}" for s in steps[-3:]),
        "lag: backlog at the step's end / asked rate; backlog +/s: its growth, second half's "
        "mean - first half's; cores: CPU s per s of step (PG = the cluster's process tree)",
        f"busiest sink process: {max(s.busiest_sink for s in steps):.2f} of a core, so no "
        "producer was short of CPU (one process for all sinks would share one core)",
    ]
    section.goals.append(Goal("sustained/raw", sustained / raw_rate, 0.5))
    section.checks += [
        Check(
            "nothing_dropped_at_sustained",
            best is not None and best.dropped == 0 and best.rows == best.written,
            f"at {count(sustained)}/s: dropped {best.dropped if best else '-'}, rows in table "
            f"{best.rows if best else '-'} of {best.written if best else '-'} written",
        ),
        Check(
            "rows_landed",
            all(s.rows == s.written for s in steps),
            f"rows in table vs written, per step: {[(s.rows, s.written) for s in steps]}",
        ),
        Check(
            "machine_quiet",
            all(s.other_cores <= OTHER_CORES for s in steps),
            f"cores busy with neither PostgreSQL nor the sinks, per step: "
            f"{[round(s.other_cores, 2) for s in steps]}",
        ),
    ]
    section.summary = (
        f"**{count(sustained)} spans/s** with 0 dropped from {cfg.sustained_sinks} sinks, "
        f"**{ratio(sustained / raw_rate)}** x one connection's raw COPY "
        f"({count(raw_rate)} rows/s); at {count(limit.rate)}/s first to run out: {saturated}"
    )
    section.data = {
        "sinks": cfg.sustained_sinks, "step_seconds": cfg.sustained_seconds, "cores": cores,
        "raw": {"rows_per_s": round(raw_rate), "seconds": [round(s, 3) for s in raw_s]},
        "sustained_spans_per_s": sustained, "saturated": saturated,
        "ratios": {"sustained/raw": round(sustained / raw_rate, 4)},
        "steps": [{**asdict(s), "kept_up": s.kept_up} for s in steps],
    }  # fmt: skip
    return section
