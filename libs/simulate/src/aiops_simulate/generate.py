"""`generate(scenario)`: the scenario's spans, as the telemetry table would hold them.

Requests arrive second by second (Poisson, at the traffic's level) at the
topology's entries; each runs down its call tree. An operation's own time
is lognormal (its median and sigma, rarely a Pareto outlier), split around
its calls; a span lasts its own time plus the calls it waits for. A call is
a client span in the caller whose child is the callee's server span; a
query or a cache call is a client span alone; an async message is a short
client span whose consumer starts later, unawaited. Records are held until
no later request can start before them, then given out sorted by timestamp:
the stream is in time order (docs/simulate.md).
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from itertools import accumulate
from operator import itemgetter

from aiops_engine.rows import SpanRecord

from .draws import NORMALS, TABLE, poisson
from .effects import Effect, Hooks
from .faults import FaultKind
from .scenario import Scenario
from .topology import CONSUMER, HTTP, QUERY
from .traffic import Traffic, stable_seed

MAX_SKEW_MS = 40.0  # each service's clock is ahead by 0..MAX_SKEW_MS
NET_MS, NET_SIGMA = 0.35, 0.6  # one way across the network
PUBLISH_MS, QUEUE_MS, QUEUE_SIGMA = 0.8, 15.0, 0.8  # broker ack; wait in the queue
OUTLIER_P, OUTLIER_CAP = 0.001, 50.0  # a Pareto (alpha 1.5) outlier: a GC pause, a cold cache
PRE = 0.3  # share of its own time an operation spends before its first call
LOAD_EFFECT = 0.1  # own time grows 10% per unit of load above average (queueing)
FLUSH_S = 5
HANG_MS = (4000.0, 15000.0)  # a request that hangs: its callers time out
REFUSED = "ConnectError: [Errno 111] Connection refused"
BACKGROUND = (
    "RuntimeError: connection pool exhausted",
    "KeyError: 'session'",
    "OSError: [Errno 24] Too many open files",
)
LATENCY, CPU, HTTP_ERROR, EXCEPTION, DB_SLOW = (
    FaultKind.LATENCY, FaultKind.CPU, FaultKind.HTTP_ERROR, FaultKind.EXCEPTION, FaultKind.DB_SLOW
)  # fmt: skip


def generate(scenario: Scenario) -> Iterator[list[SpanRecord]]:
    """Batches of span records in timestamp order; the same scenario gives the same records."""
    return _Run(scenario).batches()


class _Run:
    def __init__(self, scenario: Scenario) -> None:
        topology = scenario.system
        self.c = c = topology.compiled
        self.scenario = scenario
        self.rng = rng = random.Random(stable_seed(scenario.seed, scenario.topology, "spans"))
        self.random = rng.random
        self.bits = rng.getrandbits
        self.traffic = Traffic(scenario.traffic, scenario.start, scenario.seed)
        self.hooks = Hooks((*scenario.faults, *scenario.routine), c, scenario.start)
        self.origin = scenario.start
        skew = [rng.uniform(0.0, MAX_SKEW_MS) for _ in c.services]
        self.skew_us = [skew[s] * 1000 for s in c.service_id]
        # Whether a service's framework records an upstream failure as an exception.
        self.raises = [stable_seed(name) % 2 == 0 for name in c.service]
        self.cut = scenario.duration_s * 1000 - MAX_SKEW_MS  # nothing starts (or shows) later
        self.load = 1.0
        self.out: list[SpanRecord] = []
        user = [(i, r) for i, (r, e) in enumerate(zip(c.rates, c.entries, strict=True)) if not e[2]]
        self.entry_ops = [c.entries[i][0] for i, _ in user]
        self.entry_cum = list(accumulate(r for _, r in user))
        # [operation, period s, when it runs next (s)]: first at a random phase of its period.
        self.crons = [
            [c.entries[i][0], period, rng.uniform(0, period)]
            for i, (_, _, period) in enumerate(c.entries)
            if period
        ]
        self.messaging = [
            f'{{"messaging.system":"rabbitmq","messaging.destination.name":"{route[8:]}"}}'
            if kind == CONSUMER else None
            for kind, route in zip(c.kind, c.route, strict=True)
        ]  # fmt: skip

    def batches(self) -> Iterator[list[SpanRecord]]:
        seconds = math.ceil(self.scenario.duration_s)
        pending: list[SpanRecord] = []
        for second in range(seconds):
            level = self.traffic.level(second)
            self.load = max(0.9, 1.0 + LOAD_EFFECT * (level - 1.0))
            for t, op in self._arrivals(second, level * self.scenario.rate_scale):
                if not self._refused(op, t, self.hooks.killed):
                    self._serve(op, t, None, "%032x" % (self.bits(128) or 1))
            if (second + 1) % FLUSH_S == 0 or second + 1 == seconds:
                pending += self.out
                self.out = []
                pending.sort(key=itemgetter(0))
                # Later requests start at or after this: what is before it is final.
                boundary = self.origin + timedelta(seconds=second + 1)
                ready = bisect_left(pending, boundary, key=itemgetter(0))
                if second + 1 == seconds:
                    ready = len(pending)
                if ready:
                    yield pending[:ready]
                    pending = pending[ready:]

    def _arrivals(self, second: int, level: float) -> list[tuple[float, int]]:
        random, cum, ops = self.random, self.entry_cum, self.entry_ops
        base = second * 1000.0
        count = poisson(cum[-1] * level, random)
        arrivals = [
            (base + random() * 1000.0, ops[bisect_right(cum, random() * cum[-1])])
            for _ in range(count)
        ]
        for cron in self.crons:
            while cron[2] < second + 1:  # a job runs when it is due, whatever the traffic
                arrivals.append((cron[2] * 1000.0, int(cron[0])))
                cron[2] += cron[1]
        arrivals.sort()
        return arrivals

    def _refused(self, op: int, t: float, by: Sequence[tuple[Effect, ...]]) -> bool:
        """Whether `op`'s service is gone at `t` for one arrival, `by` the effects given."""
        effects = by[self.c.service_id[op]]
        return any(effect.intensity(t, self.random) for effect in effects)

    def _own(self, op: int, t: float) -> float:
        """An operation's own time at `t`, with the faults that stretch it."""
        c, random = self.c, self.random
        own = c.median[op] * math.exp(c.sigma[op] * NORMALS[int(random() * TABLE)]) * self.load
        if random() < OUTLIER_P:
            own *= min(OUTLIER_CAP, (1.0 - random()) ** -0.667)
        for effect in self.hooks.own[op]:
            if effect.kind in (LATENCY, CPU, DB_SLOW):
                x = effect.intensity(t, random)
                if x:
                    own *= 1.0 + (effect.magnitude - 1.0) * x
        return own

    def _serve(self, op: int, t: float, parent: str | None, trace: str) -> tuple[float, int | None]:
        """Run `op`'s server side from `t` (ms): its duration and status (None: a consumer)."""
        c, random = self.c, self.random
        span = "%016x" % (self.bits(64) or 1)
        own = self._own(op, t)
        consumer = c.kind[op] == CONSUMER
        status: int | None = None if consumer else 200
        error_kind = message = None
        failing = False  # failed on its own: makes none of its calls
        for effect in self.hooks.own[op]:
            kind = effect.kind
            if kind is HTTP_ERROR or kind is EXCEPTION:
                x = effect.intensity(t, random)
                if x and (x == 1.0 or random() < x):
                    own *= effect.magnitude
                    if kind is EXCEPTION:
                        error_kind, message = "exception", effect.message
                    elif consumer:
                        error_kind, message, failing = "exception", effect.message, True
                    else:
                        status, failing = (503 if random() < 0.5 else 500), True
        roll = random()
        if roll < c.errors[op] and not failing and error_kind is None:
            share = roll / c.errors[op]
            if share < 0.2:  # it hangs: whoever waits for it times out
                own += HANG_MS[0] + random() * (HANG_MS[1] - HANG_MS[0])
            elif share < 0.6 or consumer:
                error_kind, message, failing = "exception", BACKGROUND[int(share * 3) % 3], True
                status = None if consumer else 500
            else:
                status, failing = 503, True
        pre = own * PRE
        cursor = end = t + pre
        if not failing:
            for call in c.calls[op]:
                p, optional, parallel, repeat = call[1], call[2], call[5], call[6]
                if p < 1.0 and random() >= p:
                    continue
                if not parallel:
                    cursor = end
                at, ok, answer = cursor, True, None
                for _ in range(1 if repeat == 1 else 1 + int(random() * repeat)):
                    took, ok, answer = self._call(op, call, at, span, trace)
                    at += took
                    if not ok:
                        break
                end = max(end, at)
                if not ok and not optional:
                    error_kind, message, status = self._upstream(op, call[0], answer, consumer)
                    break
        post = own - pre
        duration = end - t + post
        step = c.internal[op]
        if step is not None and end < self.cut:
            self.out.append((
                self._at(op, end), c.service[op], step, "", None, post * 0.8, None,
                trace, "%016x" % (self.bits(64) or 1), span, "internal", None, None, None,
            ))  # fmt: skip
        if t < self.cut:
            self.out.append((
                self._at(op, t), c.service[op], c.route[op], c.method[op], status, duration,
                message, trace, span, parent, "server", None, error_kind, self.messaging[op],
            ))  # fmt: skip
        return duration, status

    def _upstream(
        self, op: int, callee: int, answer: int | None, consumer: bool
    ) -> tuple[str | None, str | None, int | None]:
        """(error_kind, message, status) of a request whose required call failed."""
        c = self.c
        url = f"http://{c.service[callee]}{c.route[callee]}"
        if consumer or self.raises[op]:
            what = f"Server error '{answer}'" if answer else "no response"
            return (
                "exception",
                f"HTTPStatusError: {what} for url '{url}'",
                None if consumer else 500,
            )
        return None, None, 502 if answer else 503

    def _call(
        self, op: int, call: tuple[int, float, bool, int, float, bool, int, int], t: float,
        parent: str, trace: str,
    ) -> tuple[float, bool, int | None]:  # fmt: skip
        """One call from `op` at `t`, retried as the call says: (ms taken, ok, status got)."""
        c, random, hooks = self.c, self.random, self.hooks
        target, retries, timeout, kind = call[0], call[3], call[4], call[7]
        callee = c.service_id[target]
        service, route, method = c.service[op], c.route[target], c.method[target]
        began = t
        for attempt in range(retries + 1):
            span = "%016x" % (self.bits(64) or 1)
            status: int | None = None
            error_kind = message = None
            refused = None
            if kind != CONSUMER and hooks.killed[callee]:
                refused = next((e for e in hooks.killed[callee] if e.intensity(t, random)), None)
            if refused is not None:
                took = refused.magnitude * math.exp(0.3 * NORMALS[int(random() * TABLE)])
                error_kind, message = "connection_refused", REFUSED
            elif kind == HTTP:
                out = NET_MS * math.exp(NET_SIGMA * NORMALS[int(random() * TABLE)])
                for effect in hooks.delayed[callee]:
                    out += effect.magnitude * effect.intensity(t, random)
                served, status = self._serve(target, t + out, span, trace)
                took = out + served + NET_MS * math.exp(NET_SIGMA * NORMALS[int(random() * TABLE)])
            elif kind == CONSUMER:
                # The broker takes the message whether or not its consumer is up.
                took = PUBLISH_MS * math.exp(0.5 * NORMALS[int(random() * TABLE)])
                begins = (
                    t + took + QUEUE_MS * math.exp(QUEUE_SIGMA * NORMALS[int(random() * TABLE)])
                )
                if not self._refused(target, begins, hooks.lost):
                    self._serve(target, begins, span, trace)
            else:  # a query or a cache call: the store records no span of its own
                took = self._own(target, t) + 2 * NET_MS
                roll = random()
                if roll < c.errors[target]:
                    error_kind = "exception"
                    message = "OperationalError: server closed the connection unexpectedly"
                    if kind == QUERY and roll < c.errors[target] / 2:
                        message = "QueryCanceled: canceling statement due to lock timeout"
            if took > timeout:
                took, status, error_kind = timeout, None, "timeout"
                message = f"ReadTimeout: no response from {c.service[target]} in {timeout:.0f} ms"
            if t < self.cut:
                attributes = None
                if kind == CONSUMER:
                    attributes = self.messaging[target]
                elif attempt:
                    attributes = f'{{"http.request.resend_count":{attempt}}}'
                self.out.append((
                    self._at(op, t), service, route, method, status, took, message, trace, span,
                    parent, "client", c.service[target], error_kind, attributes,
                ))  # fmt: skip
            ok = error_kind is None and (status is None or status < 500)
            if ok or attempt == retries:
                return t + took - began, ok, status
            t += took + 20.0 * (attempt + 1) * (0.5 + random())  # backoff before the retry
        raise AssertionError("unreachable")  # the loop returns on its last attempt

    def _at(self, op: int, t: float) -> datetime:
        """The timestamp `op`'s service writes for moment `t`: its clock runs a little ahead."""
        return self.origin + timedelta(0, 0, int(t * 1000 + self.skew_us[op]))
