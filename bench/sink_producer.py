"""One sink process of the sustained-ingest section (J): `python -m bench.sink_producer RATE
SECONDS` waits for a start time on stdin, then feeds a `TelemetrySink` (uvloop, built as a
service builds it) RATE shop-like spans/s for SECONDS, and prints a JSON `Producer`."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import uvloop

from aiops_telemetry import SpanRow, Telemetry

from .apps import BenchSettings
from .ingest import make_rows

TICK_S = 0.005  # how often a producer hands its sink the spans now due
TEMPLATE = 20_000  # rows a producer cycles through, stamped with the time it records them


@dataclass(frozen=True, slots=True)
class Producer:
    """What one producer process reports of one step; counts at the step's end."""

    recorded: int  # spans it handed to `record`
    written: int
    backlog: int  # buffered and in flight
    mean_backlog: tuple[float, float]  # over the step's first half, and its second
    cpu_s: float  # the whole process: recording, encoding COPY data, the event loop
    final_written: int  # once `close()` flushed the rest
    final_dropped: int


def stamped(row: SpanRow, at: datetime) -> SpanRow:
    # Spans of now, as a service records them (the table may be partitioned by time).
    return (at, *row[1:])


async def produce(rate: float, seconds: float) -> Producer:
    """One service's sink, fed `rate` spans/s for `seconds` from the start time on stdin."""
    sink = Telemetry(BenchSettings(), version="bench").sink  # AIOPS_DATABASE_URL from the env
    template = make_rows(TEMPLATE, seed=os.getpid())
    await sink.start()
    print("ready", flush=True)
    start_at = float(await asyncio.to_thread(sys.stdin.readline))
    await asyncio.sleep(max(0.0, start_at - time.time()))
    cpu, began = time.process_time(), time.monotonic()
    sent, backlog, ticks = 0, [0, 0], [0, 0]
    while (now := time.monotonic()) < began + seconds:
        at, due = datetime.now(UTC), int((now - began) * rate)
        for i in range(sent, due):
            sink.record(stamped(template[i % TEMPLATE], at))
        sent, half = max(sent, due), int(now - began >= seconds / 2)
        backlog[half] += sink.stats().buffered
        ticks[half] += 1
        await asyncio.sleep(TICK_S)
    stats, cpu_s = sink.stats(), time.process_time() - cpu
    await sink.close(timeout=120)
    final = sink.stats()
    means = (backlog[0] / max(ticks[0], 1), backlog[1] / max(ticks[1], 1))
    return Producer(sent, stats.written, stats.buffered, means, cpu_s, final.written,
                    final.dropped)  # fmt: skip


if __name__ == "__main__":  # one producer: RATE spans/s for SECONDS, a JSON report on stdout
    report = uvloop.run(produce(float(sys.argv[1]), float(sys.argv[2])))
    print(json.dumps(asdict(report)), flush=True)
