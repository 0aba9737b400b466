"""Declarative chaos scenarios: TOML files in `scenarios/`, each with its ground truth.

A scenario is traffic (a warm-up, then an observation period), the faults
injected during it, and the root causes the analyzer is expected to name.
It may also expect the fault's business impact (`expect.business_metric`,
e.g. `checkout:conversion`): an anomaly on that series in the incident that
names the root cause. A scenario without faults is a control: it expects no
incident at all. A later fault of the same kind on the same service and
endpoint replaces the earlier one, so a ramp (500 ms, then 1500 ms) is two
faults. A cold start (`cold_start = true`) runs against an analyzer that
has learned nothing (see `cold_start.py`), its warm-up counted from the
first request. Validation happens here, before anything touches the stack,
so a typo fails in a second with the file and field named instead of after
a minute of traffic.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .results import RootCause

FaultKind = Literal["delay", "error", "hang", "exception", "stop"]
ShopService = Literal["checkout", "payment", "inventory"]  # the services with a chaos API

# What each kind takes beyond service, kind and at_s, and what it cannot do without.
_TAKES: dict[str, frozenset[str]] = {
    "delay": frozenset({"endpoint", "duration_ms", "jitter_ms", "rate"}),
    "error": frozenset({"endpoint", "rate", "status"}),
    "hang": frozenset({"endpoint", "rate"}),
    "exception": frozenset({"endpoint", "rate"}),
    "stop": frozenset(),
}
_NEEDS: dict[str, frozenset[str]] = {
    "delay": frozenset({"endpoint", "duration_ms"}),
    "error": frozenset({"endpoint"}),
    "hang": frozenset({"endpoint"}),
    "exception": frozenset({"endpoint"}),
    "stop": frozenset(),
}
_OPTIONAL = frozenset().union(*_TAKES.values())
COLD_START = "analyzer cold (nothing learned)"  # how reports say a scenario starts cold
_HINTS = {
    "endpoint": "a path or route template such as /payment or /inventory/{sku}, or * for all",
    "duration_ms": "the latency to add, in ms",
    "jitter_ms": "random extra latency, in ms",
    "rate": "the share of matching requests affected, 0 < rate ≤ 1",
    "status": "the HTTP status to answer with",
}


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Traffic(_Strict):
    rate: float = Field(10.0, gt=0, le=1000, description="requests per second across the shop")
    warmup_s: float = Field(
        15.0,
        ge=0,
        le=600,
        description="normal traffic before any fault (on a cold start: from the first request)",
    )
    # At most 580 s: a fault's ttl is the rest of this phase plus a margin, and the
    # services cap every ttl at AIOPS_CHAOS_MAX_TTL (600 s by default).
    observe_s: float = Field(40.0, gt=0, le=580, description="the fault phase; ttls follow it")
    seed: int | None = Field(None, description="replays the same traffic mix")


class Fault(_Strict):
    service: ShopService
    kind: FaultKind
    endpoint: str | None = Field(None, min_length=1, max_length=200)
    duration_ms: int | None = Field(None, gt=0, le=600_000)
    jitter_ms: int | None = Field(None, ge=0, le=600_000)
    rate: float | None = Field(None, gt=0, le=1)
    status: int | None = Field(None, ge=400, le=599)
    at_s: float = Field(0.0, ge=0, description="seconds after the warm-up")

    @model_validator(mode="after")
    def _fits_its_kind(self) -> Fault:
        given = {name for name in _OPTIONAL if getattr(self, name) is not None}
        extra = sorted(given - _TAKES[self.kind])
        if extra:
            why = "it stops the whole container" if self.kind == "stop" else "it has no use for it"
            raise ValueError(f"{_a(self.kind)} fault takes no {', '.join(extra)} ({why})")
        missing = sorted(_NEEDS[self.kind] - given)
        if missing:
            raise ValueError(f"{_a(self.kind)} fault needs {missing[0]} ({_HINTS[missing[0]]})")
        if self.endpoint is not None and self.endpoint != "*" and not self.endpoint.startswith("/"):
            raise ValueError(f"endpoint {self.endpoint!r} must start with / or be *")
        return self

    def describe(self) -> str:
        """In words, for logs and reports: "payment /payment: delay 3000 ms at +20 s"."""
        where = {None: self.service, "*": f"{self.service} (every endpoint)"}.get(
            self.endpoint, f"{self.service} {self.endpoint}"
        )
        if self.kind == "delay":
            what = f"delay {self.duration_ms} ms" + (
                f" ± {self.jitter_ms}" if self.jitter_ms else ""
            )
        elif self.kind == "error":
            what = f"HTTP {self.status or 500}"
        elif self.kind == "hang":
            what = "hang (no answer)"
        elif self.kind == "exception":
            what = "exception recorded, HTTP status unchanged"
        else:
            what = "container stopped"
        if self.rate is not None and self.rate < 1:
            what += f" on {self.rate:.0%} of requests"
        return f"{where}: {what}" + (f" at +{self.at_s:g} s" if self.at_s else "")


class ExpectedCause(_Strict):
    service: str = Field(min_length=1)
    endpoint: str | None = Field(None, min_length=1, description="omit to accept any endpoint")

    def root_cause(self) -> RootCause:
        return RootCause(self.service, self.endpoint)


class Expectation(_Strict):
    root_causes: list[ExpectedCause]  # [] for a control
    detect_within_s: float = Field(30.0, gt=0, description="the target time to detect")
    # What the fault costs the business must reach the incident that explains it: an anomaly
    # on this series (kind `metric`) in an incident naming an expected root cause.
    business_metric: str | None = Field(
        None,
        pattern=r"^[^:\s]+:\S",
        max_length=300,
        description="a metric series (service:name, e.g. checkout:conversion)",
    )


class Scenario(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=60)
    description: str = Field(min_length=1)
    seed_scenario: int | None = Field(None, ge=1, description="the seed prototype's number")
    cold_start: bool = Field(
        False, description="the analyzer forgets what it learned before the traffic starts"
    )
    traffic: Traffic = Field(default_factory=Traffic)
    faults: list[Fault] = Field(default_factory=list)
    expect: Expectation

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        for i, fault in enumerate(self.faults):
            if fault.at_s >= self.traffic.observe_s:
                raise ValueError(
                    f"faults[{i}].at_s = {fault.at_s:g} is not before traffic.observe_s = "
                    f"{self.traffic.observe_s:g}: the fault would never be injected"
                )
        stopped = [f.service for f in self.faults if f.kind == "stop"]
        for i, fault in enumerate(self.faults):
            if fault.service in stopped and fault.kind != "stop":
                raise ValueError(
                    f"faults[{i}] targets {fault.service}, whose container this scenario stops"
                )
        if len(stopped) != len(set(stopped)):
            raise ValueError("a service's container can be stopped only once per scenario")
        causes = self.expect.root_causes
        if not self.faults and causes:
            raise ValueError(
                "a control (no [[faults]]) expects no root cause: set expect.root_causes = []"
            )
        if not self.faults and self.expect.business_metric is not None:
            raise ValueError(
                "a control (no [[faults]]) expects no business-metric anomaly: "
                "drop expect.business_metric"
            )
        if self.faults and not causes:
            raise ValueError(
                "a scenario with faults expects at least one root cause in expect.root_causes "
                "(only a control, with no [[faults]], expects none)"
            )
        if len({(c.service, c.endpoint) for c in causes}) != len(causes):
            raise ValueError("expect.root_causes names the same cause twice")
        if self.faults and self.expect.detect_within_s > self.traffic.observe_s:
            raise ValueError(
                f"expect.detect_within_s = {self.expect.detect_within_s:g} is beyond "
                f"traffic.observe_s = {self.traffic.observe_s:g}: it could never be observed"
            )
        return self

    @property
    def is_control(self) -> bool:
        return not self.faults

    @property
    def expected(self) -> list[RootCause]:
        return [c.root_cause() for c in self.expect.root_causes]

    def fault_lines(self) -> list[str]:
        """What the scenario does, in words: a cold start first, then each fault in order."""
        ordered = sorted(self.faults, key=lambda f: f.at_s)
        return [COLD_START] * self.cold_start + [f.describe() for f in ordered]

    def fault_summary(self) -> str:
        """Every fault in words, in injection order; "none (control)" without one."""
        return "; ".join(self.fault_lines() + ["none (control)"] * (not self.faults))


def load_scenario(path: Path) -> Scenario:
    """Read and validate one file; its `name` must be the file's stem."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read it: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from exc
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems = "\n".join(f"  {_describe_error(e)}" for e in exc.errors())
        raise ScenarioError(f"{path}: invalid scenario:\n{problems}") from exc
    if scenario.name != path.stem:
        raise ScenarioError(
            f"{path}: name = {scenario.name!r} differs from the file name: "
            f"call it {path.stem!r} or rename the file to {scenario.name}.toml"
        )
    return scenario


def load_all(folder: Path) -> list[Scenario]:
    """Every `*.toml` in `folder`, validated, sorted by name; names are unique."""
    if not folder.is_dir():
        raise ScenarioError(f"{folder}: no such folder of scenarios")
    scenarios = [load_scenario(path) for path in sorted(folder.glob("*.toml"))]
    seen: set[str] = set()
    for scenario in scenarios:
        if scenario.name in seen:
            raise ScenarioError(f"{folder}: two scenarios are called {scenario.name!r}")
        seen.add(scenario.name)
    return sorted(scenarios, key=lambda s: s.name)


def _a(word: str) -> str:
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def _describe_error(error: Any) -> str:
    """One pydantic error as "faults[0].duration_ms: <why>"."""
    loc: tuple[str | int, ...] = tuple(error["loc"])
    where = _dotted(loc) or "(top level)"
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        known = _fields_at(loc[:-1])
        message = f"unknown field {loc[-1]!r}" + (f"; known: {', '.join(known)}" if known else "")
    elif error["type"] == "missing":
        message = "missing: this field is required"
    return f"{where}: {message}"


def _dotted(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _fields_at(loc: tuple[str | int, ...]) -> list[str]:
    """The field names of the model at `loc` inside a Scenario, for "known: ..." hints."""
    model: Any = Scenario
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        annotation = field.annotation if field is not None else None
        if get_origin(annotation) is list:
            annotation = get_args(annotation)[0]
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)
