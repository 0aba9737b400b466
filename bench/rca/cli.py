"""`python -m bench.rca`: run the corpus (or part of it) in worker processes, then report."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path

from aiops_simulate import TOPOLOGIES
from bench import figures
from bench.config import REPO_ROOT, RESULTS_DIR

from . import plot, seasonal
from .corpus import CORPUS, CorpusError, FaultFree, Item, Seasonal, Selection, by_id, load, select
from .markdown import goal_text, markdown
from .metrics import summarise
from .report import Meta, report_json, write_json
from .results import CaseResult
from .run import Result, failed, run
from .seasonal import SeasonalResult
from .show import show

BLOCK = "benchmark-rca"  # the command name bench.figures knows its blocks by
Log = Callable[[str], None]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.rca",
        description="Root-cause benchmark: simulated faults through the analyzer's engine.",
    )
    p.add_argument("--split", choices=("tune", "holdout", "all"), default="all")
    p.add_argument("--kind", action="append", default=[], help="only cases with this fault kind")
    p.add_argument("--topology", action="append", default=[], help="only this topology")
    p.add_argument("--limit", type=int, help="only the first N selected cases")
    p.add_argument("--case", nargs="+", default=[], metavar="ID", help="only these cases")
    p.add_argument("--no-fault-free", action="store_true", help="skip the fault-free runs")
    p.add_argument("--no-seasonal", action="store_true", help="skip the seasonal runs")
    p.add_argument("--no-readme", action="store_true", help="leave README.md and docs/ alone")
    p.add_argument("--out", type=Path, default=RESULTS_DIR, help="where rca.json/md/png go")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--corpus", type=Path, default=CORPUS, help="another corpus file (tests)")
    p.add_argument("--show", metavar="ID", help="run one case here and print every window")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        corpus = load(args.corpus)
        if args.show:
            show(by_id(corpus, args.show), sys.stdout)
            return 0
        selection = Selection(
            split=args.split,
            kinds=tuple(args.kind),
            topologies=tuple(args.topology),
            ids=tuple(args.case),
            limit=args.limit,
            fault_free=not args.no_fault_free,
            seasonal=not args.no_seasonal,
        )
        cases, free, habits = select(corpus, selection)
    except CorpusError as exc:
        print(f"bench.rca: {exc}", file=sys.stderr)
        return 2
    given = list(sys.argv[1:] if argv is None else argv)
    command = "make benchmark-rca" if not given else " ".join(["python -m bench.rca", *given])
    log: Log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    workers = max(1, args.workers)
    log(
        f"bench.rca: {len(cases)} fault cases, {len(free)} fault-free runs, "
        f"{len(habits)} seasonal runs, {workers} workers"
    )
    began = time.monotonic()
    done = run_all([*habits, *free, *cases], workers, log)
    wall_s = time.monotonic() - began
    results = [r for r in done if isinstance(r, CaseResult)]
    habitual = [r for r in done if isinstance(r, SeasonalResult)]
    meta = Meta(
        command=command,
        wall_s=wall_s,
        workers=workers,
        spans=sum(r.spans for r in done),
        cases=len(cases),
        fault_free=len(free),
        full=selection.full and args.corpus == CORPUS,
        seasonal=len(habits),
    )
    summary = summarise(results)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    text = markdown(summary, results, meta, habitual)
    write_json(out / "rca.json", report_json(summary, results, meta, habitual))
    (out / "rca.md").write_text(text, encoding="utf-8")
    plot.draw(summary, out / "rca.png")
    print(text.split("## Faults the engine")[0].rstrip())
    print(f"\nwall {wall_s:.0f} s, {meta.spans:,} spans, {meta.spans_per_s:,.0f} spans/s")
    print(f"report: {out / 'rca.json'}, {out / 'rca.md'}, {out / 'rca.png'}")
    for goal in summary.targets:
        print(f"target {goal_text(goal)}")
    routine = seasonal.target(habitual)
    if routine is not None:  # its own target, apart from the six
        print(f"target {seasonal.target_text(routine)}")
    if meta.full and not args.no_readme:
        if out.resolve() == RESULTS_DIR.resolve():
            for written in figures.write(REPO_ROOT, BLOCK):
                print(f"{written}: written from {out / 'rca.json'}")
        else:
            print(f"docs left alone: they are rendered from {RESULTS_DIR / 'rca.json'}, not {out}")
    broken = [r.id for r in done if r.error is not None]
    if broken:
        print(f"{len(broken)} cases failed: {', '.join(sorted(broken))}")
    return 1 if broken else 0


def cost(item: Item) -> float:
    """A job's expected spans (simulated seconds x the topology's rate), to start the longest
    first: a long fault-free run started last would leave one worker running alone."""
    topology = TOPOLOGIES.get(item.topology)
    rate = topology.spans_per_s if topology is not None else 1.0
    if isinstance(item, Seasonal):
        return item.days * 86400 * rate * item.rate_scale
    if isinstance(item, FaultFree):
        return item.hours * 3600 * rate
    return (item.warmup_s + (item.fault_s or 300) + item.tail_s) * rate


def run_all(items: Sequence[Item], workers: int, log: Log) -> list[Result]:
    """Every item in a process pool, longest first; results by id. A crash is a failed case."""
    results: list[Result] = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: dict[Future[Result], Item] = {
            pool.submit(run, item): item for item in sorted(items, key=cost, reverse=True)
        }
        for n, future in enumerate(as_completed(pending), 1):
            item = pending[future]
            try:
                result = future.result()
            except Exception as exc:  # the worker itself died: still only this case is lost
                result = failed(item, f"{type(exc).__name__}: {exc}")
            results.append(result)
            log(f"[{n:>3}/{len(pending)}] {progress(result)}")
    return sorted(results, key=lambda r: r.id)


def progress(r: Result) -> str:
    """One line per finished case: what it found, and how long it took."""
    head = f"{r.id:<40} {r.wall_s:6.1f} s"
    if r.error is not None:
        return f"{head}  FAILED {r.error}"
    if isinstance(r, SeasonalResult):
        days = " ".join(str(n) for n in r.routine_incidents_by_day)
        fault = "missed" if r.fault is None or not r.fault.detected else r.fault.ranks["engine"]
        return (
            f"{head}  {r.days} days, {r.spans:,} spans: routine incidents by day {days}; "
            f"fault rank {fault or '-'}; {len(r.other_false_incidents)} other false incidents"
        )
    false = f"{len(r.false_incidents)} false incidents"
    if r.fault_free:
        return f"{head}  {r.hours:.1f} h, {r.spans:,} spans: {false}"
    ranks = "; ".join(
        f"{f.kind}@{f.service}: "
        + ("missed" if not f.detected else " ".join(f"{m} {f.ranks[m] or '-'}" for m in f.ranks))
        for f in r.faults
    )
    return f"{head}  {ranks}; {false}"
