"""OpenTelemetry set up the way the SDK documents it, configured only by the standard env vars.

OTEL_SERVICE_NAME (and OTEL_RESOURCE_ATTRIBUTES) name the service; OTEL_TRACES_EXPORTER
picks the exporter (`otlp`, the default, `console` or `none`); the stock OTLP/HTTP
exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) and headers itself;
the BatchSpanProcessor reads OTEL_BSP_SCHEDULE_DELAY and its other OTEL_BSP_* limits.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter


def span_processors(names: str) -> list[SpanProcessor]:
    """One batch processor per exporter named in OTEL_TRACES_EXPORTER's comma list."""
    processors: list[SpanProcessor] = []
    for name in (n.strip().lower() for n in names.split(",")):
        if name == "otlp":
            processors.append(BatchSpanProcessor(OTLPSpanExporter()))
        elif name == "console":
            processors.append(BatchSpanProcessor(ConsoleSpanExporter()))
        elif name not in ("none", ""):
            raise ValueError(f"OTEL_TRACES_EXPORTER={names!r}: use otlp, console or none")
    return processors


def instrument(app: FastAPI) -> TracerProvider:
    """Trace `app`'s requests and every httpx call of this process.

    The provider shuts down when the app does (after the app's own lifespan), so the
    last batch of spans is exported rather than lost on exit.
    """
    provider = TracerProvider(resource=Resource.create())
    for processor in span_processors(os.environ.get("OTEL_TRACES_EXPORTER", "otlp")):
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    app_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(target: Any) -> AsyncIterator[Any]:
        try:
            async with app_lifespan(target) as state:
                yield state
        finally:
            provider.shutdown()

    app.router.lifespan_context = lifespan
    return provider
