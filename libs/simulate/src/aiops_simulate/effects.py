"""A scenario's faults as hooks the generator checks: by operation, and by callee service.

Times are milliseconds since the scenario's start, as the generator counts.
A hook is consulted per request: it applies to `share` of them inside its
window, at an intensity growing from 0 to 1 over the ramp.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from .faults import FaultKind, InjectedFault
from .topology import CONSUMER, HTTP, QUERY, Compiled

# Exception faults raise one of these (a fault keeps its message throughout, as a bug would).
EXCEPTIONS = (
    "ValueError: invalid literal for int() with base 10: 'None'",
    "KeyError: 'currency_code'",
    "TypeError: unsupported operand type(s) for +: 'NoneType' and 'float'",
    "AttributeError: 'NoneType' object has no attribute 'items'",
    "IndexError: list index out of range",
)


class Effect:
    """One fault, compiled."""

    __slots__ = ("end", "kind", "magnitude", "message", "ramp", "share", "start")

    def __init__(self, fault: InjectedFault, origin: datetime, index: int) -> None:
        self.kind = fault.kind
        self.start = (fault.start - origin).total_seconds() * 1000
        self.end = (fault.end - origin).total_seconds() * 1000
        self.share = fault.share
        self.ramp = fault.ramp_s * 1000
        self.magnitude = fault.magnitude
        self.message = EXCEPTIONS[index % len(EXCEPTIONS)]

    def intensity(self, t: float, random: Callable[[], float]) -> float:
        """0 when this request is spared, else how far the fault has grown (1 when full)."""
        if t < self.start or t >= self.end:
            return 0.0
        if self.share < 1.0 and random() >= self.share:
            return 0.0
        if self.ramp > 0.0 and t < self.start + self.ramp:
            return (t - self.start) / self.ramp
        return 1.0


class Hooks:
    """Where each effect applies: to operations' own work, or to calls into a service."""

    def __init__(self, faults: Sequence[InjectedFault], compiled: Compiled, origin: datetime):
        c = compiled
        own: list[list[Effect]] = [[] for _ in c.kind]
        killed: list[list[Effect]] = [[] for _ in c.services]
        dropped: list[list[Effect]] = [[] for _ in c.services]
        delayed: list[list[Effect]] = [[] for _ in c.services]
        for index, fault in enumerate(faults):
            effect = Effect(fault, origin, index)
            ops = [
                op
                for op in c.ops_of(fault.service)
                if fault.endpoint is None or c.route[op] == fault.endpoint
            ]
            if not ops:
                raise ValueError(f"{fault.service} has no endpoint {fault.endpoint!r}")
            service = c.services.index(fault.service)
            kind = fault.kind
            if kind is FaultKind.KILL:
                killed[service].append(effect)
            elif kind is FaultKind.DROP:
                if not any(c.kind[op] == CONSUMER for op in ops):
                    raise ValueError(f"drop: {fault.service} consumes no messages")
                dropped[service].append(effect)
            elif kind is FaultKind.NETWORK:
                delayed[service].append(effect)
            elif kind is FaultKind.DB_SLOW:
                own_ops = [op for op in ops if c.kind[op] == QUERY]
                if not own_ops:
                    raise ValueError(f"db_slow: {fault.service} is no database")
                for op in own_ops:
                    own[op].append(effect)
            else:
                served = [op for op in ops if c.kind[op] in (HTTP, CONSUMER)]
                if not served:
                    raise ValueError(f"{kind.value}: {fault.service} serves no requests")
                for op in served:
                    own[op].append(effect)
        # Tuples: an empty one is falsy, so the hot loop skips faultless operations cheaply.
        self.own = [tuple(effects) for effects in own]
        self.killed = [tuple(effects) for effects in killed]
        # Messages lost: a killed service's, and a dropping consumer's (its HTTP still answers).
        self.lost = [tuple(k + d) for k, d in zip(killed, dropped, strict=True)]
        self.delayed = [tuple(effects) for effects in delayed]
