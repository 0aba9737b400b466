from __future__ import annotations

from aiops_telemetry import DatabaseServiceSettings


class InventorySettings(DatabaseServiceSettings):
    service_name: str = "inventory"
    work_ms: float = 3.0
