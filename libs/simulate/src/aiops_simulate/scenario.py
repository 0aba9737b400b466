"""A scenario: which system, when, under what traffic, with which faults."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .faults import InjectedFault
from .topologies import TOPOLOGIES
from .topology import Topology
from .traffic import SHAPES


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything `generate` needs: the same scenario always gives the same spans."""

    seed: int
    topology: str
    start: datetime  # UTC
    duration_s: float
    traffic: str  # "steady" | "diurnal" | "bursty"
    faults: tuple[InjectedFault, ...] = ()
    rate_scale: float = 1.0  # x the topology's traffic (and spans per second)
    # What the system does every day on its own (a nightly batch): applied as faults are,
    # but no fault, so not in the truth.
    routine: tuple[InjectedFault, ...] = ()

    def __post_init__(self) -> None:
        if self.topology not in TOPOLOGIES:
            raise ValueError(f"unknown topology {self.topology!r}: one of {', '.join(TOPOLOGIES)}")
        if self.traffic not in SHAPES:
            raise ValueError(f"unknown traffic {self.traffic!r}: one of {', '.join(SHAPES)}")
        if self.start.tzinfo is None or self.start.utcoffset() != timedelta(0):
            raise ValueError(f"scenario start must be a UTC datetime, not {self.start!r}")
        if not (math.isfinite(self.duration_s) and self.duration_s > 0):
            raise ValueError(f"duration_s must be > 0, not {self.duration_s}")
        if not (math.isfinite(self.rate_scale) and self.rate_scale > 0):
            raise ValueError(f"rate_scale must be > 0, not {self.rate_scale}")
        object.__setattr__(self, "faults", tuple(self.faults))
        object.__setattr__(self, "routine", tuple(self.routine))
        services = set(self.services())
        for fault in (*self.faults, *self.routine):
            if fault.service not in services:
                raise ValueError(f"{self.topology} has no service {fault.service!r}")

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.duration_s)

    @property
    def system(self) -> Topology:
        return TOPOLOGIES[self.topology]

    def truth(self) -> list[dict[str, Any]]:
        """The truth file: a JSON list `aiops replay --truth` reads (options.load_truth)."""
        return [fault.truth() for fault in self.faults]

    def services(self) -> list[str]:
        """Every service of the topology, databases and caches included."""
        return list(self.system.services)
