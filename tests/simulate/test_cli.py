"""`aiops simulate` writes a recording `aiops replay` reads back whole, with a truth it scores."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aiops_cli.cli import main
from aiops_simulate import FaultKind, plan_case
from aiops_simulate.planning import MIN_EFFECT_MS

AIOPS = str(Path(sys.executable).with_name("aiops"))
# A strong step fault in shop10: steady traffic, an 18x slower busy endpoint for two minutes.
SEED = 35
CASE = ("--topology", "shop10", "--kind", "latency", "--seed", str(SEED), "--traffic", "steady",
        "--warmup-s", "300", "--fault-s", "120", "--tail-s", "60")  # fmt: skip


def simulate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    status = main(["simulate", "--json", *args])
    out, err = capsys.readouterr()
    return status, json.loads(out) if status == 0 else {}, err


def test_the_case_used_here_is_a_strong_latency_step_on_a_busy_endpoint() -> None:
    """Every request of an endpoint serving 5/s or more, at least 5x slower from one moment
    on, its own time growing by far more than the simulator's least slowdown (50 ms)."""
    scenario = plan_case(SEED, "shop10", ["latency"], warmup_s=300, fault_s=120, tail_s=60,
                         traffic="steady")  # fmt: skip
    [fault] = scenario.faults
    assert fault.kind is FaultKind.LATENCY
    assert fault.magnitude >= 5
    assert fault.share == 1.0
    assert fault.ramp_s == 0
    compiled = scenario.system.compiled
    ops = [op for op in compiled.ops_of(fault.service) if compiled.route[op] == fault.endpoint]
    assert sum(compiled.op_rate[op] for op in ops) >= 5
    assert max(compiled.median[op] for op in ops) * (fault.magnitude - 1) >= 1.5 * MIN_EFFECT_MS


def test_replay_reads_back_every_span_and_its_scorecard_finds_the_fault(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, written, _ = simulate(capsys, str(tmp_path), *CASE)
    assert status == 0
    spans, truth = tmp_path / "spans.jsonl.gz", tmp_path / "truth.json"
    assert written["spans_file"] == str(spans)
    assert written["spans"] > 40_000
    assert json.loads(truth.read_text()) == written["faults"]
    [fault] = written["faults"]
    replayed = subprocess.run(
        [AIOPS, "replay", str(spans), "--truth", str(truth), "--json"],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    report = json.loads(replayed.stdout)
    assert report["spans"] == written["spans"]
    assert (report["rejected"], report["late_spans"]) == (0, 0)
    card = report["scorecard"]
    assert (card["faults"], card["detected"], card["ac_at_1"]) == (1, 1, 1.0)
    assert card["per_fault"][0]["ttd_s"] <= 15
    opened = [i for i in report["incidents"] if i["root_cause"]["service"] == fault["service"]]
    assert opened
    assert opened[0]["root_cause"]["endpoint"] == fault["endpoint"]


def test_the_summary_names_the_services_the_spans_and_the_faults(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status = main(["simulate", str(tmp_path), "--topology", "chain6", "--hours", "0.02"])
    out = capsys.readouterr().out
    assert status == 0
    assert "spans of chain6 (9 services: edge, api, orders, stock, pricing, rates," in out
    assert "Faults: none (fault-free)" in out
    assert "diurnal" in out
    assert json.loads((tmp_path / "truth.json").read_text()) == []


def test_list_names_every_topology_and_fault_kind(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--list"]) == 0
    out = capsys.readouterr().out
    for name in ("shop10", "chain6", "fanout15", "diamond12", "system40", "mesh50"):
        assert f"  {name} " in out
    for kind in FaultKind:
        assert f"  {kind.value} " in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--topology", "shop11", "--kind", "cpu"], "unknown topology 'shop11': one of shop10,"),
        (["--kind", "memory"], "unknown fault kind 'memory': one of latency, cpu,"),
        (["--kind", "cpu", "--hours", "1"], "--hours makes a fault-free recording"),
        ([], "give --kind (a case with faults) or --hours (fault-free)"),
    ],
)
def test_bad_requests_are_one_line_errors_not_tracebacks(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], message: str
) -> None:
    assert main(["simulate", str(tmp_path / "out"), *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("aiops: simulate: ")
    assert message in err
    assert err.count("\n") == 1
    assert not (tmp_path / "out").exists()
