"""The OTLP/HTTP receiver: `uvicorn --factory ingest.app:create_app`.

Stateless: any number of replicas may run behind one address, each with its
own bounded sinks writing to the same telemetry and metric_points tables.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from aiops_api.ingest import IngestHealth, SpanCounts
from aiops_telemetry import (
    AccessLogMiddleware,
    StartupErrorReporter,
    Telemetry,
    configure_logging_from,
    package_version,
)

from .body import WireLimit
from .metrics_receiver import MetricsReceiver, metric_sink, metrics_router
from .receiver import Receiver, traces_router
from .settings import IngestSettings


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    settings = settings or IngestSettings()
    configure_logging_from(settings, service=settings.service_name)
    # The telemetry sink, connection and migrations exactly as the services have them; the
    # receiver's own requests are not traced (they would double every span it stores).
    telemetry = Telemetry(settings, version=package_version("aiops-ingest"))
    receiver = Receiver(telemetry.sink, settings)
    metrics = MetricsReceiver(receiver, metric_sink(settings))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with telemetry, metrics.sink:
            yield

    app = FastAPI(title="ingest", version=telemetry.version, lifespan=lifespan)
    app.add_middleware(StartupErrorReporter)
    app.add_middleware(
        WireLimit, max_bytes=settings.otlp_max_body_bytes, on_refuse=receiver.note_refusal
    )
    app.add_middleware(AccessLogMiddleware, quiet_paths=settings.telemetry_exclude_paths)
    app.include_router(traces_router(receiver))
    app.include_router(metrics_router(metrics))

    @app.get("/health", tags=["health"])
    async def health() -> IngestHealth:
        """Liveness, the sinks' state, and what the receiver took and refused."""
        stats = telemetry.sink.stats()
        points = metrics.counts()
        healthy = stats.state == "ok" and points.sink.state == "ok"
        return IngestHealth(
            service=telemetry.service_name,
            version=telemetry.version,
            status="ok" if healthy else "degraded",
            telemetry=stats,
            spans=SpanCounts(accepted=receiver.accepted_spans, rejected=receiver.rejected_spans),
            metrics=points,
            refused_requests={str(k): v for k, v in sorted(receiver.refused.items())},
        )

    return app
