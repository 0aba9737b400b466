"""Response models of the stack's HTTP APIs, one module per service.

`analyzer`, `ingest` and `shop` (checkout, payment, inventory) hold each service's
own answers; `service` the `/health` and `chaos` the chaos API (`/simulate`) that
every shop service gets from the service kit (`aiops_telemetry`); `common` what
they share (the error bodies, the telemetry sink's state).

The services declare them as `response_model`s (so each OpenAPI document is
complete), and the CLI and chaos tools parse responses with the same classes
instead of re-reading JSON by hand. Pydantic only: no web framework here, and
nothing of the services (`aiops_telemetry` imports this package, never the reverse).
"""
