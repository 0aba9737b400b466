"""A system to simulate: its operations, the calls each makes, and where requests come in.

An operation is one thing a service does: an HTTP endpoint ("GET /api/cart"),
a queue consumer ("consume orders"), or, on a database or a cache, one query
label ("SELECT orders", "HGETALL cart"). Calls name their target as
"service operation"; what kind of call it is follows from the target (a
database's operation is a query, a consumer's is an async message).
`Topology.compile()` flattens it all into index-addressed lists, the form
the generator's hot loop reads.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

# Operation kinds (ints: compared in the hot loop).
HTTP, CONSUMER, QUERY, CACHE = 0, 1, 2, 3
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True, slots=True)
class Call:
    """One call an operation makes, in order; `parallel` ones start with the call before."""

    target: str  # "service operation", e.g. "catalog GET /api/products/{id}"
    p: float = 1.0  # probability the call is made at all (a cache miss, a branch)
    optional: bool = False  # the caller copes with its failure (a widget left out)
    retries: int = 0  # extra attempts after a failed one (up to 2)
    timeout_ms: float = 3000.0
    parallel: bool = False
    repeat: int = 1  # made 1..repeat times in a row (a loop over items)


@dataclass(frozen=True, slots=True)
class Op:
    """One operation of a service: its own time (lognormal), failures, and calls."""

    service: str
    name: str  # "GET /api/cart", "consume orders", "SELECT orders", "GET product"
    ms: float  # median own time
    sigma: float = 0.4  # lognormal spread of the own time
    errors: float = 0.001  # background share of requests that fail on their own
    calls: tuple[Call, ...] = ()
    internal: str | None = None  # an in-process step recorded as an internal span


@dataclass(frozen=True, slots=True)
class Entry:
    """Where requests come in: Poisson at a share `weight` of the load, or every `period_s`."""

    target: str
    weight: float = 1.0
    period_s: float | None = None  # a cron-like job instead of user traffic


@dataclass(frozen=True)
class Topology:
    name: str
    description: str
    ops: tuple[Op, ...]
    entries: tuple[Entry, ...]
    databases: tuple[str, ...] = ()
    caches: tuple[str, ...] = ()
    spans_per_s: float = 120.0  # the average volume at traffic level 1
    compiled: Compiled = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled", Compiled(self))

    @functools.cached_property
    def services(self) -> list[str]:
        """Every service: the application's in order of appearance, then databases and caches."""
        stores = {*self.databases, *self.caches}
        apps = dict.fromkeys(op.service for op in self.ops if op.service not in stores)
        return [*apps, *self.databases, *self.caches]


class Compiled:
    """A topology as flat lists indexed by operation, with traffic rates worked out."""

    def __init__(self, topology: Topology) -> None:
        ops = topology.ops
        self.index = {f"{op.service} {op.name}": i for i, op in enumerate(ops)}
        if len(self.index) != len(ops):
            raise ValueError(f"{topology.name}: an operation is defined twice")
        self.services = topology.services
        service_index = {name: i for i, name in enumerate(self.services)}
        self.service = [op.service for op in ops]
        self.service_id = [service_index[op.service] for op in ops]
        self.kind = [_kind(op, topology) for op in ops]
        self.method = [_method(op.name, kind) for op, kind in zip(ops, self.kind, strict=True)]
        self.route = [_route(op.name, kind) for op, kind in zip(ops, self.kind, strict=True)]
        self.median = [op.ms for op in ops]
        self.sigma = [op.sigma for op in ops]
        self.errors = [op.errors for op in ops]
        self.internal = [op.internal for op in ops]
        # (target, p, optional, retries, timeout_ms, parallel, repeat, target kind)
        self.calls: list[tuple[tuple[int, float, bool, int, float, bool, int, int], ...]] = []
        for op in ops:
            compiled = []
            for call in op.calls:
                target = self.index.get(call.target)
                if target is None:
                    raise ValueError(f"{topology.name}: {op.name} calls unknown {call.target!r}")
                if not (0 < call.p <= 1 and 0 <= call.retries <= 2 and call.repeat >= 1):
                    raise ValueError(f"{topology.name}: bad call {call}")
                compiled.append(
                    (target, call.p, call.optional, call.retries, call.timeout_ms,
                     call.parallel, call.repeat, self.kind[target])
                )  # fmt: skip
            self.calls.append(tuple(compiled))
        self.callers: list[set[int]] = [set() for _ in ops]  # the services calling each op
        for caller, calls in enumerate(self.calls):
            for target, *_ in calls:
                if self.service[target] != self.service[caller]:
                    self.callers[target].add(self.service_id[caller])
        self.entries = [self._entry(e, topology.name) for e in topology.entries]
        self.visits = [self._visits(target) for target, _, _ in self.entries]
        self.spans = [self._spans(visits) for visits in self.visits]
        self._scale_rates(topology.spans_per_s)

    def _entry(self, entry: Entry, name: str) -> tuple[int, float, float | None]:
        target = self.index.get(entry.target)
        if target is None or self.kind[target] != HTTP:
            raise ValueError(f"{name}: entry {entry.target!r} is not an HTTP operation")
        return target, entry.weight, entry.period_s

    def _visits(self, op: int, memo: dict[int, list[float]] | None = None) -> list[float]:
        """Expected executions of every operation per request into `op` (retries left out)."""
        memo = {} if memo is None else memo
        found = memo.get(op)
        if found is not None:
            if not found:  # still being worked out: `op` calls itself
                raise ValueError(f"call cycle through {self.service[op]} {self.route[op]}")
            return found
        memo[op] = []
        visits = [0.0] * len(self.kind)
        visits[op] = 1.0
        for target, p, _, _, _, _, repeat, _ in self.calls[op]:
            times = p * (1 + repeat) / 2
            for i, n in enumerate(self._visits(target, memo)):
                visits[i] += times * n
        memo[op] = visits
        return visits

    def _spans(self, visits: Sequence[float]) -> float:
        """Expected spans per request: a server span per HTTP or consumer operation run, a
        client span per call, and the internal spans."""
        spans = 0.0
        for op, n in enumerate(visits):
            if not n:
                continue
            own = (self.kind[op] in (HTTP, CONSUMER)) + (self.internal[op] is not None)
            spans += n * own
            spans += sum(n * p * (1 + r) / 2 for _, p, _, _, _, _, r, _ in self.calls[op])
        return spans

    def _scale_rates(self, spans_per_s: float) -> None:
        """Entry rates (requests/s at traffic level 1) giving `spans_per_s` in all."""
        cron = sum(
            s / period for (_, _, period), s in zip(self.entries, self.spans, strict=True) if period
        )
        user = [(w, s) for (_, w, period), s in zip(self.entries, self.spans, strict=True)
                if not period]  # fmt: skip
        per_weight = max(spans_per_s - cron, 1.0) / sum(w * s for w, s in user)
        self.rates = [
            1 / period if period else weight * per_weight for _, weight, period in self.entries
        ]
        # Requests per second each operation serves at traffic level 1.
        self.op_rate = [0.0] * len(self.kind)
        for rate, visits in zip(self.rates, self.visits, strict=True):
            for i, n in enumerate(visits):
                self.op_rate[i] += rate * n

    def ops_of(self, service: str) -> list[int]:
        return [i for i, s in enumerate(self.service) if s == service]


def _kind(op: Op, topology: Topology) -> int:
    if not (math.isfinite(op.ms) and op.ms > 0 and 0 <= op.errors < 1 and op.sigma >= 0):
        raise ValueError(f"{topology.name}: bad timing for {op.service} {op.name}")
    if op.service in topology.databases:
        return QUERY
    if op.service in topology.caches:
        return CACHE
    if op.name.startswith("consume "):
        return CONSUMER
    method = op.name.split(" ", 1)[0]
    if method not in HTTP_METHODS or not op.name.count(" ") == 1:
        raise ValueError(f"{topology.name}: {op.service} {op.name!r} is not 'METHOD /route'")
    return HTTP


def _method(name: str, kind: int) -> str:
    if kind == HTTP:
        return name.split(" ", 1)[0]
    return "SQL" if kind == QUERY else ""


def _route(name: str, kind: int) -> str:
    return name.split(" ", 1)[1] if kind == HTTP else name
