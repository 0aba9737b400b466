"""The replay driver: simulated time, out-of-order files, bounded memory, repeatable ids."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from aiops_engine.incidents import IncidentPolicy
from aiops_engine.rca import RcaConfig
from aiops_engine.replay import Replay, ReplayConfig
from aiops_engine.rows import SpanRecord
from aiops_telemetry.otlp import rows_from_otlp_json
from tests.support.recording import ShopFault, shop_spans, write_otlp_lines

FAULT = ShopFault("payment", 240, 300, extra_ms=300)


def rows_of(path: Path) -> list[list[SpanRecord]]:
    return [rows_from_otlp_json(json.loads(line)).rows for line in path.read_text().splitlines()]


def run(batches: list[list[SpanRecord]], config: ReplayConfig | None = None) -> Replay:
    replay = Replay(config)
    for batch in batches:
        replay.feed(batch)
    replay.finish()
    return replay


def test_the_same_recording_gives_the_same_incidents_and_ids(tmp_path: Path) -> None:
    write_otlp_lines(tmp_path / "r.jsonl", shop_spans(seconds=360, rate=8, faults=(FAULT,)))
    batches = rows_of(tmp_path / "r.jsonl")
    first, second = run(batches), run(batches)
    assert [i.id for i in first.incidents] == [i.id for i in second.incidents]
    assert first.incidents == second.incidents
    assert first.incidents[0].id.endswith("-0001")


def test_export_order_within_the_disorder_allowance_loses_no_span(tmp_path: Path) -> None:
    """Files are written by end time; a parent's start is seconds before its children's export."""
    write_otlp_lines(tmp_path / "r.jsonl", shop_spans(seconds=120, rate=5), batch_s=10)
    replay = run(rows_of(tmp_path / "r.jsonl"))
    assert replay.counts.late == 0
    assert replay.counts.spans == 5 * len({r[7] for b in rows_of(tmp_path / "r.jsonl") for r in b})


def test_spans_later_than_the_allowance_are_counted_not_analysed(tmp_path: Path) -> None:
    write_otlp_lines(tmp_path / "r.jsonl", shop_spans(seconds=120, rate=5))
    batches = rows_of(tmp_path / "r.jsonl")
    config = ReplayConfig(max_disorder_s=0.0)
    replay = run([*batches[60:], *batches[:10]], config)
    assert replay.counts.late == sum(len(b) for b in batches[:10])


def test_traces_older_than_the_correlation_window_are_forgotten(tmp_path: Path) -> None:
    write_otlp_lines(tmp_path / "r.jsonl", shop_spans(seconds=600, rate=10))
    config = ReplayConfig(
        rca=RcaConfig(correlation_window_s=30),
        policy=IncidentPolicy(correlation_window_s=30, resolve_after_s=30),
    )
    replay = run(rows_of(tmp_path / "r.jsonl"), config)
    kept = replay.held_traces  # about 30 s (+ a window) of 10 traces/s
    assert replay.counts.spans > 25_000
    assert len(kept) < 10 * (30 + 5 + 5 + 32)
    newest = replay.counts.last_at
    assert newest is not None
    assert all(spans[0][0] >= newest - timedelta(seconds=80) for spans in kept.values())


def test_the_last_partial_window_is_not_judged_as_silence(tmp_path: Path) -> None:
    write_otlp_lines(tmp_path / "r.jsonl", shop_spans(seconds=302.5, rate=10))
    replay = run(rows_of(tmp_path / "r.jsonl"))
    assert replay.incidents == []
    assert replay.counts.unjudged > 0
