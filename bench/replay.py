"""I. Replay speed: `aiops replay` spans/s vs merely parsing the same OTLP JSON lines file.

One generated recording (the three-service shop, 30 simulated minutes at
20 checkouts/s, a payment slowdown in the middle) is read in alternating
rounds two ways with the CLI's own reader: parsed only (json.loads and the
OTLP mapping, rows dropped), and replayed (the same parsing, then windows,
detection, RCA and incidents). The ratio says what the engine costs on
top of reading; the rate is absolute, on this machine.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from aiops_cli.replay.inputs import Rejections, Source, otlp_batches
from aiops_cli.replay.run import run_replay
from aiops_engine.replay import ReplayConfig
from tests.support.recording import ShopFault, shop_spans, write_otlp_lines

from .fleet import Context
from .report import Check, Goal, Section, count, ratio

SECONDS, RATE = 1800, 20.0
FAULT = ShopFault("payment", 900, 1020, extra_ms=300)


def parse_only(path: Path) -> tuple[int, float]:
    """(spans, seconds) to read and map every line, keeping nothing."""
    began = time.perf_counter()
    source = Source(path)
    spans = 0
    try:
        for batch in otlp_batches(source, Rejections()):
            spans += len(batch)
    finally:
        source.close()
    return spans, time.perf_counter() - began


def replay_once(path: Path) -> tuple[int, float, list[str]]:
    run = run_replay(path, ReplayConfig(), fmt="otlp")
    causes = [i.root_cause.service for i in run.replay.incidents]
    return run.replay.counts.spans, run.wall_s, causes


def run(ctx: Context) -> Section:
    section = Section("I", "replay speed vs parsing")
    with tempfile.TemporaryDirectory(prefix="aiops-bench-replay-") as tmp:
        path = Path(tmp) / "shop.jsonl"
        written = write_otlp_lines(path, shop_spans(seconds=SECONDS, rate=RATE, faults=(FAULT,)))
        parse_rates, replay_rates, ratios = [], [], []
        causes: list[str] = []
        spans = 0
        for _ in range(ctx.config.rounds):
            spans, parse_s = parse_only(path)
            replayed, replay_s, causes = replay_once(path)
            parse_rates.append(spans / parse_s)
            replay_rates.append(replayed / replay_s)
            ratios.append(parse_s / replay_s)
        size_mb = path.stat().st_size / 1e6
    parse_rate, replay_rate = statistics.median(parse_rates), statistics.median(replay_rates)
    paired = statistics.median(ratios)
    section.headers = ["variant", "spans/s (median)", "min..max", "vs parse only"]
    section.rows = [
        ["parse only", count(parse_rate), _spread(parse_rates), "1.000"],
        ["replay", count(replay_rate), _spread(replay_rates), ratio(paired)],
    ]
    section.notes = [
        f"{count(spans)} spans, {size_mb:.0f} MB OTLP JSON lines, {SECONDS} s simulated; "
        f"{ctx.config.rounds} paired rounds; ratios per round "
        f"[{', '.join(ratio(r) for r in ratios)}]",
        f"replay speed-up over real time: {SECONDS / (spans / replay_rate):,.0f}x",
    ]
    section.checks = [
        Check("every span read", spans == written, f"{spans} of {written}"),
        Check("the fault is found", causes == ["payment"], f"incidents rooted at {causes}"),
    ]
    section.goals = [
        Goal("replay / parse-only spans/s", paired, 0.5),
        Goal("replay spans/s (thousands)", replay_rate / 1000, 50.0),
    ]
    section.summary = (
        f"**{paired:.2f}** ({count(replay_rate)} vs {count(parse_rate)} spans/s parsing only; "
        f"{count(spans)} spans, {SECONDS} s simulated, replayed "
        f"{SECONDS / (spans / replay_rate):,.0f}x faster than real time)"
    )
    section.data = {
        "spans": spans,
        "parse_spans_per_s": round(parse_rate),
        "replay_spans_per_s": round(replay_rate),
        "ratio": round(paired, 4),
    }
    return section


def _spread(values: list[float]) -> str:
    return f"{count(min(values))}..{count(max(values))}"
