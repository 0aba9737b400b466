"""A user's app, not ours: `catalog` calls `pricing` over HTTP, both traced by the
OpenTelemetry SDK alone and exported with the stock OTLP/HTTP exporter."""
