"""Seeded span streams of realistic microservice systems, with ground truth.

`plan_case`, `plan_fault_free` or `plan_seasonal` make a `Scenario` (a topology, traffic and
the faults injected); `generate` turns it into the span records the
telemetry table would hold, and `Scenario.truth()` into the truth file
`aiops replay --truth` reads. docs/simulate.md describes what is generated.
"""

from __future__ import annotations

from .faults import FaultKind, InjectedFault
from .generate import generate
from .planning import plan_case, plan_fault_free
from .scenario import Scenario
from .seasonal import plan_seasonal
from .topologies import TOPOLOGIES
from .topology import Topology

__all__ = [
    "TOPOLOGIES",
    "FaultKind",
    "InjectedFault",
    "Scenario",
    "Topology",
    "generate",
    "plan_case",
    "plan_fault_free",
    "plan_seasonal",
]
