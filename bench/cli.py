"""Run the selected sections in one go against one throwaway PostgreSQL, then report."""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import FrameType

from . import (
    analyzer_cycle,
    cycle_keys,
    detection,
    figures,
    hop,
    ingest,
    ingest_sustained,
    metric_watch,
    middleware,
    month,
    otlp_ingest,
    partition_span,
    replay,
    shop,
)
from .config import (
    REPO_ROOT,
    RESULTS_DIR,
    SECTIONS,
    Config,
    ConfigError,
    check_platform,
    check_postgres,
    find_wrk,
)
from .cpu import postmaster_pid, tree_seconds
from .fleet import Context, Database, service_env, throwaway_postgres
from .report import Section, write_json
from .wrk import Wrk

REPORT = RESULTS_DIR / "latest.json"


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Turn SIGTERM into an exception so every `finally` stops its processes and the database.
    raise SystemExit(128 + signum)


def main() -> int:
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        config = Config.from_env(os.environ)
        wrk_binary = find_wrk()
        check_postgres()
        check_platform()
    except ConfigError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2

    print(
        f"bench: sections {''.join(config.sections)}; wrk -t1 -c{config.connections}, "
        f"{config.duration}s x {config.rounds} rounds (+{config.warmup}s warm-up), "
        f"soak {config.soak_seconds}s; {os.cpu_count()} CPUs",
        flush=True,
    )
    started = time.monotonic()
    sections: list[Section] = []
    with tempfile.TemporaryDirectory(prefix="aiops-bench-") as tmp, throwaway_postgres() as pg:
        db = Database(pg.dsn)
        db.migrate()
        postmaster = postmaster_pid(pg.datadir)
        ctx = Context(
            config,
            Wrk(wrk_binary, Path(tmp), config.connections),
            db,
            service_env(pg.dsn),
            postgres_cpu=lambda: tree_seconds(postmaster),
        )
        for keys, runner in _plan(config):
            for section in _guarded(keys, partial(runner, ctx)):
                sections.append(section)
                print(f"\n{section.render()}", flush=True)
            # Written after every step, so a crash later still leaves what was measured.
            write_json(REPORT, config, sections, time.monotonic() - started)

    kept = figures.record_sections(REPO_ROOT / figures.BENCH, sections)
    print(f"\n{_summary(sections)}\nreport: {REPORT}")
    if kept:
        print(f"{figures.BENCH}: sections {', '.join(kept)} kept")
        for written in figures.write(REPO_ROOT, "bench"):
            print(f"{written}: written")
    failed = any(s.error or not all(c.ok for c in s.checks) for s in sections)
    return 1 if failed else 0


Runner = Callable[[Context], list[Section]]


def _plan(config: Config) -> list[tuple[tuple[str, ...], Runner]]:
    wanted = set(config.sections)
    plan: list[tuple[tuple[str, ...], Runner]] = []
    if "A" in wanted:
        plan.append((("A",), lambda ctx: [middleware.run(ctx)]))
    if "B" in wanted:
        plan.append((("B",), lambda ctx: [ingest.run(ctx)]))
    if "C" in wanted:
        plan.append((("C",), lambda ctx: [hop.run(ctx)]))
    shop_keys = tuple(k for k in ("D", "E") if k in wanted)
    if shop_keys:
        # D and E share one running shop: E's soak starts from D's warm processes.
        plan.append(
            (
                shop_keys,
                lambda ctx: shop.run(ctx, throughput="D" in wanted, memory="E" in wanted),
            )
        )
    if "F" in wanted:
        plan.append((("F",), lambda ctx: [analyzer_cycle.run(ctx)]))
    if "G" in wanted:
        plan.append((("G",), lambda ctx: [detection.run(ctx)]))
    if "H" in wanted:
        plan.append((("H",), lambda ctx: [otlp_ingest.run(ctx)]))
    if "I" in wanted:
        plan.append((("I",), lambda ctx: [replay.run(ctx)]))
    if "J" in wanted:
        plan.append((("J",), lambda ctx: [ingest_sustained.run(ctx)]))
    if "K" in wanted:
        plan.append((("K",), lambda ctx: [cycle_keys.run(ctx)]))
    if "L" in wanted:
        plan.append((("L",), lambda ctx: [month.run(ctx)]))
    if "M" in wanted:
        plan.append((("M",), lambda ctx: [partition_span.run(ctx)]))
    if "N" in wanted:
        plan.append((("N",), lambda ctx: [metric_watch.run(ctx)]))
    return plan


def _guarded(keys: tuple[str, ...], step: Callable[[], list[Section]]) -> list[Section]:
    """A failed step becomes an error in the report; the other sections still run."""
    try:
        return step()
    except Exception as exc:
        traceback.print_exc()
        return [Section(key, SECTIONS[key], error=f"{type(exc).__name__}: {exc}") for key in keys]


def _summary(sections: list[Section]) -> str:
    lines = ["== summary =="]
    for section in sections:
        lines += [f"  {section.key}: {goal.line()}" for goal in section.goals]
        lines += [f"  {section.key}: {c.line()}" for c in section.checks if not c.ok]
        if section.error:
            lines.append(f"  {section.key}: ERROR {section.error}")
    return "\n".join(lines)
