from __future__ import annotations

from aiops_telemetry import ServiceSettings


class PaymentSettings(ServiceSettings):
    service_name: str = "payment"
    work_ms: float = 8.0
