"""`python -m bench.detect`: every stream of the corpus (or part of it) through every detector
in worker processes, then the report: detect.json, detect.md, detect.png."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path

from bench import figures
from bench.config import REPO_ROOT, RESULTS_DIR

from . import plot
from .corpus import CORPUS, CorpusError, Entry, Selection, load, select
from .markdown import ENGINE, check_line, markdown, score_table
from .report import Meta, report_json, write_json
from .run import DETECTORS, StreamResult, engine_available, run

BLOCK = "benchmark-detect"  # the command name bench.figures knows its block by
Log = Callable[[str], None]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.detect",
        description="Detection benchmark: labelled metric streams, the engine and references.",
    )
    p.add_argument("--split", choices=("tune", "holdout", "all"), default="all")
    p.add_argument("--family", action="append", default=[], help="only streams of this family")
    p.add_argument("--stream", nargs="+", default=[], metavar="ID", help="only these streams")
    p.add_argument("--limit", type=int, help="only the first N selected streams")
    p.add_argument(
        "--detector", action="append", choices=list(DETECTORS), default=[],
        help="only this detector (repeatable; default: all)",
    )  # fmt: skip
    p.add_argument("--no-readme", action="store_true", help="leave README.md and docs/ alone")
    p.add_argument("--out", type=Path, default=RESULTS_DIR, help="where detect.json/md/png go")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--corpus", type=Path, default=CORPUS, help="another corpus file (tests)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    selection = Selection(args.split, tuple(args.family), tuple(args.stream), args.limit)
    try:
        entries = select(load(args.corpus), selection)
    except CorpusError as exc:
        print(f"bench.detect: {exc}", file=sys.stderr)
        return 2
    log: Log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    names = list(args.detector or DETECTORS)
    engine_error = engine_available() if ENGINE in names else None
    if engine_error is not None:
        log(f"bench.detect: the engine's detector is left out ({engine_error})")
        names.remove(ENGINE)
    given = list(sys.argv[1:] if argv is None else argv)
    command = "make benchmark-detect" if not given else " ".join(["python -m bench.detect", *given])
    workers = max(1, args.workers)
    log(f"bench.detect: {len(entries)} streams, detectors {', '.join(names)}, {workers} workers")
    began = time.monotonic()
    results = run_all(entries, names, workers, log)
    wall_s = time.monotonic() - began
    full = selection.full and args.corpus == CORPUS and not args.detector
    meta = Meta(command, wall_s, workers, full, tuple(names), engine_error)
    report = report_json(results, meta)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "detect.json", report)
    (out / "detect.md").write_text(markdown(report), encoding="utf-8")
    if names:
        plot.draw(entries, names[0], out / "detect.png")
    print("\n".join(score_table(report)))
    for key, check in report["checks"].get(ENGINE, {}).items():
        print(f"check {check_line(key, check)}")
    print(f"\nwall {wall_s:.0f} s; report: {out / 'detect.json'}, {out / 'detect.md'}, "
          f"{out / 'detect.png'}")  # fmt: skip
    if full and not args.no_readme:
        if out.resolve() == RESULTS_DIR.resolve():
            for written in figures.write(REPO_ROOT, BLOCK):
                print(f"{written}: written from {out / 'detect.json'}")
        else:
            print(f"docs left alone: they are rendered from {RESULTS_DIR / 'detect.json'}")
    failed = {n: d["errors"] for n, d in report["detectors"].items() if d["errors"]}
    for name, errors in failed.items():
        print(f"{name} failed on {len(errors)} streams: {', '.join(sorted(errors))}")
    return 1 if failed else 0


def run_all(
    entries: Sequence[Entry], names: Sequence[str], workers: int, log: Log
) -> list[StreamResult]:
    """Every stream in a process pool, longest first; results in corpus order."""
    order = {e.id: n for n, e in enumerate(entries)}
    results: list[StreamResult] = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: dict[Future[StreamResult], Entry] = {
            pool.submit(run, entry, names): entry
            for entry in sorted(entries, key=lambda e: e.days * 86400 / e.step_s, reverse=True)
        }
        for n, future in enumerate(as_completed(pending), 1):
            result = future.result()  # run() catches a detector's failure; a crash here is ours
            results.append(result)
            log(f"[{n:>3}/{len(pending)}] {progress(result)}")
    return sorted(results, key=lambda r: order[r.entry.id])


def progress(r: StreamResult) -> str:
    """One line per finished stream: each detector's windows found and false alarms."""
    found = "; ".join(
        f"{name} {o.score.detected}/{len(o.score.windows)} {o.score.false_alarms} FA "
        f"{o.wall_s:.1f} s" + (" FAILED" if o.error else "")
        for name, o in r.outcomes.items()
        if "@" not in name
    )
    return f"{r.entry.id:<16} {r.points:>6} pts  {found}"
