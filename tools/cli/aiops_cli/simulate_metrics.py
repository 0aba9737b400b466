"""`aiops simulate OUT_DIR --metrics`: labelled metric streams, as CSV and a truth file.

One stream of each family asked for (`--stream`, repeatable; all of them by default) is drawn
by `aiops_simulate.make_stream` from the one seed and written as OUT_DIR/metrics.csv
(`timestamp,series,value`, ISO-8601 UTC, one row a point, series after series) and
OUT_DIR/truth.json, the labelled windows: `[{"series", "start", "end", "kind"}, ...]`.
The same streams `make benchmark-detect` scores; docs/simulate.md has the details.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TypedDict

from aiops_simulate import STREAM_FAMILIES, Stream, make_stream

from .client import CliError
from .export import _AtomicText

METRICS_FILE, TRUTH_FILE = "metrics.csv", "truth.json"
HEADER = ("timestamp", "series", "value")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--metrics", action="store_true", help="labelled metric streams (CSV) instead of spans"
    )
    families = ", ".join(STREAM_FAMILIES)
    parser.add_argument(
        "--stream", action="append", default=[], metavar="FAMILY",
        help=f"with --metrics: a stream family (repeatable; default all: {families})",
    )  # fmt: skip
    parser.add_argument(
        "--days", type=float, help="with --metrics: days per stream (5 at 1-min steps, else 14)"
    )
    parser.add_argument(
        "--step-s", type=int, default=60, help="with --metrics: seconds between points (60)"
    )


class StreamInfo(TypedDict):
    series: str
    family: str
    kind: str
    direction: str
    points: int
    start: str
    end: str
    labels: int


class MetricsRecording(TypedDict):
    """What `aiops simulate --metrics --json` prints."""

    metrics_file: str
    truth_file: str
    seed: int
    step_s: int
    streams: list[StreamInfo]
    points: int
    faults: list[dict[str, str]]  # the truth file's entries
    wall_s: float


def run(args: argparse.Namespace) -> tuple[MetricsRecording, str]:
    if args.kind or args.hours is not None:
        raise CliError("simulate: --metrics draws metric streams; give it without --kind/--hours")
    unknown = sorted(set(args.stream) - set(STREAM_FAMILIES))
    if unknown:
        raise CliError(
            f"simulate: no stream family {', '.join(unknown)}; one of {', '.join(STREAM_FAMILIES)}"
        )
    if args.step_s <= 0:
        raise CliError("simulate: --step-s must be a positive number of seconds")
    began = time.perf_counter()
    try:
        streams = [
            make_stream(f, args.seed, step_s=args.step_s, days=args.days, name=f"{f}-{args.seed}")
            for f in (args.stream or STREAM_FAMILIES)
        ]
    except ValueError as exc:
        raise CliError(f"simulate: {exc}") from None
    out_dir: Path = args.out_dir
    points = write_streams(streams, out_dir)
    wall_s = time.perf_counter() - began
    faults = [fault for stream in streams for fault in stream.truth()]
    data: MetricsRecording = {
        "metrics_file": str(out_dir / METRICS_FILE),
        "truth_file": str(out_dir / TRUTH_FILE),
        "seed": args.seed,
        "step_s": args.step_s,
        "streams": [info(s) for s in streams],
        "points": points,
        "faults": faults,
        "wall_s": round(wall_s, 3),
    }
    text = (
        f"Wrote {points} points of {len(streams)} metric streams "
        f"({', '.join(f'{s.name} ({s.kind}, {len(s.labels)} labelled)' for s in streams)}), "
        f"{args.step_s} s apart, to {data['metrics_file']}, in {wall_s:.1f} s; "
        f"{len(faults)} labelled windows in {data['truth_file']}."
    )
    return data, text


def info(stream: Stream) -> StreamInfo:
    return {
        "series": stream.name,
        "family": stream.family,
        "kind": stream.kind,
        "direction": stream.direction,
        "points": len(stream),
        "start": stream.start.isoformat(),
        "end": stream.end.isoformat(),
        "labels": len(stream.labels),
    }


def write_streams(streams: Sequence[Stream], out_dir: Path) -> int:
    """metrics.csv and truth.json in `out_dir`; the number of points written."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        truth = [fault for stream in streams for fault in stream.truth()]
        (out_dir / TRUTH_FILE).write_text(json.dumps(truth, indent=2) + "\n")
    except OSError as exc:
        raise CliError(f"cannot write to {out_dir}: {exc.strerror or exc}") from None
    count = 0
    with _AtomicText(out_dir / METRICS_FILE) as out:
        rows = csv.writer(out, lineterminator="\n")
        rows.writerow(HEADER)
        for stream in streams:
            for at, value in stream.points():
                rows.writerow((at.isoformat(), stream.name, repr(value)))
                count += 1
    return count
