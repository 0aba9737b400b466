from __future__ import annotations

from aiops_telemetry import DatabaseServiceSettings, Duration
from aiops_telemetry.retention import retention_interval, retention_period


class PaymentSettings(DatabaseServiceSettings):
    service_name: str = "payment"
    work_ms: float = 8.0
    # Authorizations older than this are deleted, voided or not (payment/retention.py says why).
    payment_retention: Duration = retention_period("an authorization")
    payment_retention_interval: float = retention_interval()
