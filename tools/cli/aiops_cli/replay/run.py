"""Driving a replay: read the recording batch by batch, feed the engine, collect the results."""

from __future__ import annotations

import csv
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from aiops_chaos.results import Sample
from aiops_cli.client import CliError
from aiops_engine.detection import Anomaly, KeyKind
from aiops_engine.incidents.book import Touch
from aiops_engine.replay import Replay, ReplayConfig, WindowResult
from aiops_telemetry import SpanRow

from .columns import Layout, parse_columns
from .csv_spans import FIELDS, REQUIRED, CsvSpans, family_of
from .inputs import Rejections, Source, otlp_batches

CSV_BATCH = 2_000  # rows per feed: amortizes the window checks, bounds memory


@dataclass
class Collected:
    """What the report needs from the judged windows."""

    anomalies: list[Anomaly] = field(default_factory=list)
    touches: list[Touch] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)  # endpoint windows, for the timeline

    def add(self, results: Iterable[WindowResult]) -> None:
        for result in results:
            self.anomalies += result.anomalies
            self.touches += result.touches
            self.samples += [
                Sample(
                    at=result.start,
                    endpoint=str(w.key),
                    requests=w.count,
                    errors=w.error_count,
                    p50_ms=w.p50_ms,
                )
                for w in result.windows
                if w.key.kind is KeyKind.ENDPOINT
            ]


@dataclass
class ReplayRun:
    replay: Replay
    collected: Collected
    rejections: Rejections
    wall_s: float


def detect_format(path: Path, given: str | None) -> str:
    if given:
        return given
    name = path.name.lower().removesuffix(".gz")
    return "csv" if name.endswith((".csv", ".tsv")) else "otlp"


def run_replay(
    path: Path,
    config: ReplayConfig,
    *,
    fmt: str,
    columns: str | None = None,
    duration_unit: str | None = None,
    sort: bool = False,
) -> ReplayRun:
    replay, collected, rejections = Replay(config), Collected(), Rejections()
    began = time.perf_counter()
    source = Source(path)
    try:
        with tqdm(
            total=source.size,
            unit="B",
            unit_scale=True,
            desc="replay",
            disable=not sys.stderr.isatty(),
            leave=False,
        ) as bar:
            batches = _batches(source, fmt, rejections, columns, duration_unit)
            if sort:
                # Everything in memory, in start order: for files not written in time order.
                everything = sorted((r for b in batches for r in b), key=lambda r: r[0])
                batches = iter([everything])
            for batch in batches:
                collected.add(replay.feed(batch))
                bar.update(source.position() - bar.n)
        collected.add(replay.finish())
    finally:
        source.close()
    return ReplayRun(replay, collected, rejections, time.perf_counter() - began)


def _batches(
    source: Source, fmt: str, rejections: Rejections, columns: str | None, unit: str | None
) -> Iterator[list[SpanRow]]:
    if fmt == "otlp":
        return otlp_batches(source, rejections)
    return _csv_batches(source, rejections, parse_columns(columns, FIELDS), unit)


def _csv_batches(
    source: Source, rejections: Rejections, mapping: dict[str, str], unit: str | None
) -> Iterator[list[SpanRow]]:
    reader = csv.reader(source.text())
    header = next(reader, None)
    if header is None:
        raise CliError(f"{source.path}: empty CSV (no header line)")
    layout = Layout.of(header, mapping, FIELDS, REQUIRED)
    family = None
    if not (layout.has("kind") and layout.has("peer_service")):
        # Kinds or callees are inferred from parents and children: one pass to learn them.
        first = Source(source.path)
        try:
            lines = csv.reader(first.text())
            next(lines, None)
            family = family_of(lines, layout)
        except csv.Error as exc:
            raise CliError(f"{source.path}: not a CSV file ({exc})") from None
        finally:
            first.close()
    spans = CsvSpans(layout, rejections, duration_unit=unit, family=family)
    batch: list[SpanRow] = []
    try:
        for row in spans.rows(reader, lambda: reader.line_num):
            batch.append(row)
            if len(batch) >= CSV_BATCH:
                yield batch
                batch = []
    except csv.Error as exc:
        raise CliError(f"{source.path}, line {reader.line_num}: not CSV ({exc})") from None
    if batch:
        yield batch
