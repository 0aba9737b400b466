"""The scenario files load and validate, and a broken one says which file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiops_chaos.results import RootCause
from aiops_chaos.scenarios import Fault, ScenarioError, load_all, load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
REQUIRED = {
    "payment-latency",
    "cascading-failure",
    "gradual-degradation",
    "payment-hang",
    "inventory-intermittent",
    "payment-stopped",
    "two-faults",
    "control",
    "exception-without-5xx",
    "cold-start",
}
VALID = """
name = "{name}"
description = "a scenario written by a test"
[traffic]
observe_s = 30
[[faults]]
service = "payment"
kind = "delay"
endpoint = "/payment"
duration_ms = 3000
[expect]
root_causes = [{{ service = "payment", endpoint = "/payment" }}]
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str, name: str = "broken") -> str:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, name, text))
    return str(caught.value)


def test_every_scenario_file_loads_and_validates() -> None:
    """Every scenarios/*.toml loads, sorted by name, each name being its file's stem."""
    scenarios = load_all(SCENARIOS)
    names = [s.name for s in scenarios]
    assert names == sorted(p.stem for p in SCENARIOS.glob("*.toml"))
    assert len(names) == len(set(names))
    assert set(names) >= REQUIRED


def test_the_seeds_three_scenarios_are_there_with_their_numbers() -> None:
    """Seed scenarios 1, 2 and 3 are payment latency, the cascade and inventory's degradation."""
    by_seed = {s.seed_scenario: s for s in load_all(SCENARIOS) if s.seed_scenario}
    assert {n: s.name for n, s in by_seed.items()} == {
        1: "payment-latency",
        2: "cascading-failure",
        3: "gradual-degradation",
    }
    assert by_seed[1].faults[0] == Fault(
        service="payment", kind="delay", endpoint="/payment", duration_ms=3000
    )
    assert [f.duration_ms for f in by_seed[3].faults] == [500, 1500]
    assert by_seed[3].faults[1].at_s == 20


def test_ground_truth_names_the_broken_service() -> None:
    """Each fault scenario expects its broken service; two faults expect two; the control none."""
    scenarios = {s.name: s for s in load_all(SCENARIOS)}
    assert scenarios["control"].is_control
    assert scenarios["control"].expected == []
    assert [c.service for c in scenarios["two-faults"].expected] == ["payment", "inventory"]
    for scenario in scenarios.values():
        broken = {f.service for f in scenario.faults}
        assert {c.service for c in scenario.expected} == broken


def test_fault_summaries_read_as_words() -> None:
    """The fault column of reports says what broke, and when, in plain words."""
    scenarios = {s.name: s for s in load_all(SCENARIOS)}
    assert scenarios["payment-latency"].fault_summary() == "payment /payment: delay 3000 ms"
    assert scenarios["payment-stopped"].fault_summary() == "payment: container stopped"
    assert "delay 1500 ms at +20 s" in scenarios["gradual-degradation"].fault_summary()
    assert scenarios["control"].fault_summary() == "none (control)"


def test_exception_without_5xx_fails_payments_spans_and_expects_payment() -> None:
    """The exception fault strikes every payment; the blame is payment's endpoint."""
    scenario = {s.name: s for s in load_all(SCENARIOS)}["exception-without-5xx"]
    assert scenario.faults == [
        Fault(service="payment", kind="exception", endpoint="/payment", rate=1.0)
    ]
    assert scenario.expected == [RootCause("payment", "/payment")]
    assert not scenario.cold_start
    assert scenario.fault_summary() == "payment /payment: exception recorded, HTTP status unchanged"


def test_cold_start_slows_payment_20_s_after_the_first_request_of_a_fresh_analyzer() -> None:
    """Only cold-start starts cold; its warm-up (from the first request) is the 20 s."""
    scenarios = {s.name: s for s in load_all(SCENARIOS)}
    assert [name for name, s in scenarios.items() if s.cold_start] == ["cold-start"]
    cold = scenarios["cold-start"]
    [fault] = cold.faults
    assert fault == Fault(service="payment", kind="delay", endpoint="/payment", duration_ms=1500)
    assert cold.traffic.warmup_s + fault.at_s == 20
    assert cold.expected == [RootCause("payment", "/payment")]
    assert cold.fault_summary() == (
        "analyzer cold (nothing learned); payment /payment: delay 1500 ms"
    )


def test_an_exception_fault_takes_an_endpoint_and_a_rate_only(tmp_path: Path) -> None:
    text = VALID.format(name="broken").replace('kind = "delay"', 'kind = "exception"')
    assert "faults[0]: an exception fault takes no duration_ms" in error_of(tmp_path, text)
    text = text.replace("duration_ms = 3000", "").replace('endpoint = "/payment"\n', "")
    assert "faults[0]: an exception fault needs endpoint" in error_of(tmp_path, text)
    text = VALID.format(name="fine").replace('kind = "delay"', 'kind = "exception"')
    fine = load_scenario(write(tmp_path, "fine", text.replace("duration_ms = 3000", "rate = 0.5")))
    assert fine.fault_summary() == (
        "payment /payment: exception recorded, HTTP status unchanged on 50% of requests"
    )


def test_a_cold_control_is_a_control_that_says_it_starts_cold(tmp_path: Path) -> None:
    text = """
name = "cold-control"
description = "a fresh analyzer and no fault"
cold_start = true
[expect]
root_causes = []
"""
    scenario = load_scenario(write(tmp_path, "cold-control", text))
    assert scenario.is_control
    assert scenario.cold_start
    assert scenario.fault_summary() == "analyzer cold (nothing learned); none (control)"


def test_a_valid_file_written_by_hand_loads(tmp_path: Path) -> None:
    """The minimal shape loads, with the traffic defaults filled in."""
    scenario = load_scenario(write(tmp_path, "mine", VALID.format(name="mine")))
    assert scenario.expected == [RootCause("payment", "/payment")]
    assert (scenario.traffic.rate, scenario.traffic.warmup_s) == (10.0, 15.0)


def test_an_unknown_field_is_named_with_the_known_ones(tmp_path: Path) -> None:
    """A typo in [traffic] names the file, the field, and what would have been accepted."""
    text = VALID.format(name="broken").replace("observe_s = 30", "observe_s = 30\nrat = 5")
    message = error_of(tmp_path, text)
    assert "broken.toml" in message
    assert "traffic.rat: unknown field 'rat'" in message
    assert "rate, warmup_s, observe_s" in message


def test_a_delay_without_its_duration_is_refused(tmp_path: Path) -> None:
    """A delay fault needs duration_ms, and the message points at that fault."""
    message = error_of(tmp_path, VALID.format(name="broken").replace("duration_ms = 3000", ""))
    assert "faults[0]: a delay fault needs duration_ms" in message


def test_fields_that_do_not_fit_the_kind_are_refused(tmp_path: Path) -> None:
    """A stop takes no endpoint; an error takes no duration."""
    stop = VALID.format(name="broken").replace('kind = "delay"', 'kind = "stop"')
    assert "a stop fault takes no duration_ms, endpoint" in error_of(tmp_path, stop)
    error = VALID.format(name="broken").replace('kind = "delay"', 'kind = "error"')
    assert "faults[0]: an error fault takes no duration_ms" in error_of(tmp_path, error)


def test_a_fault_after_the_observation_is_refused(tmp_path: Path) -> None:
    """at_s must fall before observe_s, or the fault would never be injected."""
    text = VALID.format(name="broken").replace(
        "duration_ms = 3000", "duration_ms = 3000\nat_s = 45"
    )
    message = error_of(tmp_path, text)
    assert "faults[0].at_s = 45 is not before traffic.observe_s = 30" in message


def test_a_control_with_faults_or_a_fault_without_a_cause_is_refused(tmp_path: Path) -> None:
    """No faults means no expected cause; faults mean at least one."""
    control = """
name = "broken"
description = "a control that expects a cause"
[expect]
root_causes = [{ service = "payment" }]
"""
    assert "a control (no [[faults]]) expects no root cause" in error_of(tmp_path, control)
    unexpected = VALID.format(name="broken").replace(
        '[{ service = "payment", endpoint = "/payment" }]', "[]"
    )
    assert "a scenario with faults expects at least one root cause" in error_of(
        tmp_path, unexpected
    )


def test_a_name_that_is_not_the_file_stem_is_refused(tmp_path: Path) -> None:
    """name must match the file, so `run NAME` finds what `list` shows."""
    message = error_of(tmp_path, VALID.format(name="other"), name="mine")
    assert "name = 'other' differs from the file name" in message


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    """A syntax error says which file, and that it is TOML that failed."""
    assert "broken.toml: not valid TOML" in error_of(tmp_path, "name = ")


def test_load_all_stops_at_the_first_bad_file(tmp_path: Path) -> None:
    """One broken file fails the folder, naming that file."""
    write(tmp_path, "good", VALID.format(name="good"))
    write(tmp_path, "bad", VALID.format(name="bad").replace("duration_ms = 3000", ""))
    with pytest.raises(ScenarioError, match=r"bad\.toml"):
        load_all(tmp_path)
