"""Seeded span streams of realistic microservice systems, with ground truth.

`plan_case`, `plan_fault_free` or `plan_seasonal` make a `Scenario` (a topology, traffic and
the faults injected); `generate` turns it into the span records the
telemetry table would hold, and `Scenario.truth()` into the truth file
`aiops replay --truth` reads. docs/simulate.md describes what is generated.
`make_stream(family, seed)` draws one labelled metric stream instead (streams.py).
"""

from __future__ import annotations

from .faults import FaultKind, InjectedFault
from .generate import generate
from .planning import plan_case, plan_fault_free
from .scenario import Scenario
from .seasonal import plan_seasonal
from .streams import KINDS as STREAM_KINDS
from .streams import Label, Stream
from .streams_families import FAMILIES as STREAM_FAMILIES
from .streams_families import make_stream
from .topologies import TOPOLOGIES
from .topology import Topology

__all__ = [
    "STREAM_FAMILIES",
    "STREAM_KINDS",
    "TOPOLOGIES",
    "FaultKind",
    "InjectedFault",
    "Label",
    "Scenario",
    "Stream",
    "Topology",
    "generate",
    "make_stream",
    "plan_case",
    "plan_fault_free",
    "plan_seasonal",
]
