"""`aiops simulate OUT_DIR`: a labelled synthetic recording, for `aiops replay --truth`.

A seeded scenario of one of aiops_simulate's topologies (a case with one
fault per --kind, or --hours without any) is generated and written as
OUT_DIR/spans.jsonl.gz, OTLP JSON lines made by `aiops export`'s own
functions (so replay reads back the very records generated), and
OUT_DIR/truth.json, the faults injected. docs/simulate.md has the details.
With --metrics it writes labelled metric streams instead (simulate_metrics).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, TypedDict

from aiops_engine.rows import FIELDS, SpanRecord
from aiops_simulate import TOPOLOGIES, FaultKind, Scenario, generate, plan_case, plan_fault_free
from aiops_simulate.faults import MAGNITUDES
from aiops_simulate.traffic import SHAPES

from . import simulate_metrics
from .client import CliError
from .export import _AtomicText
from .export_otlp import export_request
from .replay.options import non_negative, positive

SUMMARY = "a labelled synthetic recording: a topology's spans, faults injected, and the truth"
SPANS_FILE, TRUTH_FILE = "spans.jsonl.gz", "truth.json"
BATCH_SPANS = 1000  # spans per line, as `aiops export` writes them


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out_dir", type=Path, nargs="?", help="where to write the two files")
    parser.add_argument("--topology", default="shop10", help="the system (shop10; see --list)")
    parser.add_argument(
        "--kind", action="append", default=[], help="a fault to inject (repeatable; see --list)"
    )
    parser.add_argument("--seed", type=int, default=1, help="the same seed, the same recording (1)")
    parser.add_argument(
        "--warmup-s", type=non_negative, default=600.0, help="seconds before the fault (600)"
    )
    parser.add_argument("--fault-s", type=positive, help="fault length, s (default: 120-300)")
    parser.add_argument(
        "--tail-s", type=non_negative, default=120.0, help="seconds after the fault (120)"
    )
    parser.add_argument("--partial", action="store_true", help="faults hit 10-30%% of requests")
    parser.add_argument("--ramp", action="store_true", help="faults grow gradually")
    parser.add_argument(
        "--traffic", choices=SHAPES, help="load shape (bursty with --kind, diurnal with --hours)"
    )
    parser.add_argument("--hours", type=positive, help="a fault-free recording this long")
    parser.add_argument(
        "--rate-scale", type=positive, default=1.0, help="x the topology's traffic (1.0)"
    )
    parser.add_argument("--list", action="store_true", help="list topologies and fault kinds")
    simulate_metrics.add_arguments(parser)


class Recording(TypedDict):
    """What `aiops simulate --json` prints: the files written and what they hold."""

    spans_file: str
    truth_file: str
    topology: str
    seed: int
    traffic: str
    start: str
    duration_s: float
    services: list[str]
    spans: int
    faults: Sequence[Mapping[str, object]]  # the truth file's entries
    wall_s: float


class TopologyInfo(TypedDict):
    services: int
    description: str


class Listing(TypedDict):
    """`aiops simulate --list --json`: topologies, and fault kinds with their magnitudes."""

    topologies: dict[str, TopologyInfo]
    kinds: dict[str, str]


def run(
    args: argparse.Namespace,
) -> tuple[Recording | Listing | simulate_metrics.MetricsRecording, str]:
    """The `simulate` command: what it wrote, as data and as a paragraph."""
    if args.list:
        return listing()
    if args.out_dir is None:
        raise CliError("simulate: OUT_DIR is required (or --list)")
    if args.metrics:
        return simulate_metrics.run(args)
    scenario = _scenario(args)
    began = time.perf_counter()
    spans = write_recording(scenario, args.out_dir)
    wall_s = time.perf_counter() - began
    services = scenario.services()
    data: Recording = {
        "spans_file": str(args.out_dir / SPANS_FILE),
        "truth_file": str(args.out_dir / TRUTH_FILE),
        "topology": scenario.topology,
        "seed": scenario.seed,
        "traffic": scenario.traffic,
        "start": scenario.start.isoformat(),
        "duration_s": scenario.duration_s,
        "services": services,
        "spans": spans,
        "faults": scenario.truth(),
        "wall_s": round(wall_s, 3),
    }
    faults = "; ".join(f.describe() for f in scenario.faults) or "none (fault-free)"
    text = (
        f"Wrote {spans} spans of {scenario.topology} ({len(services)} services: "
        f"{', '.join(services)}) over {scenario.duration_s:.0f} s of {scenario.traffic} "
        f"traffic from {scenario.start.isoformat()} (seed {scenario.seed}) to "
        f"{data['spans_file']}, in {wall_s:.1f} s. Faults: {faults}; truth in "
        f"{data['truth_file']}. Replay it: aiops replay {data['spans_file']} "
        f"--truth {data['truth_file']}"
    )
    return data, text


def _scenario(args: argparse.Namespace) -> Scenario:
    if args.kind and args.hours is not None:
        raise CliError("simulate: --hours makes a fault-free recording; give it without --kind")
    try:
        if args.kind:
            scenario = plan_case(
                args.seed,
                args.topology,
                args.kind,
                warmup_s=args.warmup_s,
                fault_s=args.fault_s,
                tail_s=args.tail_s,
                partial=args.partial,
                ramp=args.ramp,
                traffic=args.traffic or "bursty",
            )
        elif args.hours is not None:
            scenario = plan_fault_free(
                args.seed, args.topology, args.hours, traffic=args.traffic or "diurnal"
            )
        else:
            raise CliError("simulate: give --kind (a case with faults) or --hours (fault-free)")
        return dataclasses.replace(scenario, rate_scale=args.rate_scale)
    except ValueError as exc:
        raise CliError(f"simulate: {exc}") from None


def write_recording(scenario: Scenario, out_dir: Path) -> int:
    """Write the scenario's spans and truth into `out_dir`; the number of spans."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / TRUTH_FILE).write_text(json.dumps(scenario.truth(), indent=2) + "\n")
    except OSError as exc:
        raise CliError(f"cannot write to {out_dir}: {exc.strerror or exc}") from None
    with _AtomicText(out_dir / SPANS_FILE) as out:
        return write_otlp_lines(out, generate(scenario))


def write_otlp_lines(out: IO[str], batches: Iterable[list[SpanRecord]]) -> int:
    """One ExportTraceServiceRequest per BATCH_SPANS records; the number written."""
    count = 0
    for rows in _rebatch(batches):
        request = export_request([dict(zip(FIELDS, row, strict=True)) for row in rows])
        out.write(json.dumps(request, separators=(",", ":"), ensure_ascii=False))
        out.write("\n")
        count += len(rows)
    return count


def _rebatch(batches: Iterable[list[SpanRecord]]) -> Iterator[list[SpanRecord]]:
    held: list[SpanRecord] = []
    for batch in batches:
        held += batch
        while len(held) >= BATCH_SPANS:
            yield held[:BATCH_SPANS]
            held = held[BATCH_SPANS:]
    if held:
        yield held


def listing() -> tuple[Listing, str]:
    """--list: the topologies and the fault kinds, as data and as text."""
    topologies: dict[str, TopologyInfo] = {
        name: {"services": len(t.services), "description": t.description}
        for name, t in TOPOLOGIES.items()
    }
    kinds = {kind.value: MAGNITUDES[kind][0] for kind in FaultKind}
    lines = ["topologies:"]
    lines += [f"  {n:<10} {t['services']:>3} services  {t['description']}"
              for n, t in topologies.items()]  # fmt: skip
    lines += ["fault kinds (magnitude):"]
    lines += [f"  {kind:<11} {meaning}" for kind, meaning in kinds.items()]
    return {"topologies": topologies, "kinds": kinds}, "\n".join(lines)
