"""The systems `aiops simulate` knows, by name (docs/simulate.md has a table)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from aiops_simulate.topology import Topology

from .mesh import MESH50
from .shop import SHOP10
from .small import CHAIN6, DIAMOND12, FANOUT15
from .trainticket import SYSTEM40

TOPOLOGIES: Mapping[str, Topology] = MappingProxyType(
    {t.name: t for t in (SHOP10, CHAIN6, FANOUT15, DIAMOND12, SYSTEM40, MESH50)}
)
