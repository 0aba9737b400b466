"""Zero-code telemetry for the shop's services.

What a service needs to be instrumented is exported here:

- `Telemetry(settings, version=...)` (the service kit, `aiops_telemetry.service`):
  `instrument(app)` adds the pure ASGI tracing middleware, the chaos API and
  `/health`; `http_client(...)` and `create_pool(...)` hand business code
  clients whose calls are recorded as client spans; `async with telemetry:`
  runs the COPY sink.
- `record_exception(exc)` marks the request being served as failed by an
  exception it handled; `annotate(key, value)` adds an attribute to its span
  (checkout's `order.amount`); `current_trace_id()` / `current_span()` read the
  trace context.
- `configure_logging(...)`: the one structured logging setup every service uses
  (`aiops_telemetry.logs`; docs/logging.md), and `AccessLogMiddleware`, its
  access line per request (`instrument(app)` adds it; apps without tracing add
  it themselves).
- Span rows (`SpanRow`, `span_row`, `COLUMNS`, kinds) and the `TelemetrySink`
  that writes them, for ingest paths that are not a FastAPI request; `CopySink`,
  the same bounded COPY writer for another table (ingest's metric points).
- `create_service_app(settings, name=...)` (`aiops_telemetry.service_app`): a shop
  service's app wired as every one is (logging, the kit, its own migrated `Database`
  and its health check, a 503 while that database is unavailable, retention), its
  routes and `ErrorAnswers` left to it; `DatabaseServiceSettings` are its settings,
  and `from_state(name)` hands a route what its lifespan yielded.
- `Database`: a pool with a bounded wait and a fast 503 while PostgreSQL is away;
  `DatabaseDep` hands it to a route.
- Migrations (`apply_migrations`), the `Connection` type and `DATABASE_UNAVAILABLE` (the
  errors of a database that is down, not of a query) for storage code.
- Settings: `AiopsSettings`, `ServiceSettings`, and `Duration` (a setting written `7d`,
  `36h` or `90m`, read by `parse_duration`) for retention periods.

The building blocks have their own public modules: `aiops_telemetry.context`
(W3C trace context), `.middleware` (the ASGI tracing middleware), `.logs` (the
logging setup and its processors), `.access_log`, `.http_client`
(the tracing httpx transport), `.limits` (request body limits), `.chaos` (fault
injection) and `.chaos_api` (its HTTP API), `.otlp` (OTLP/JSON to span rows),
`.otlp_metrics` (OTLP metrics to metric point rows: `.metric_rows`, `.histograms`),
`.retention` (deleting a service's old rows in batches) and `.stack_secrets`.
"""

from ._db import DATABASE_UNAVAILABLE, Connection, close_pool, wait_for_pool
from ._migrations import Migration, apply_migrations, load_migrations
from ._settings import (
    AiopsSettings,
    DatabaseServiceSettings,
    Duration,
    ServiceSettings,
    parse_duration,
)
from ._sink import CopySink, TelemetrySink
from ._span import CLIENT, COLUMNS, INTERNAL, SERVER, SpanRow, span_row
from ._startup import StartupError, StartupErrorReporter
from ._work import SimulatedWork, WorkDep
from .access_log import AccessLogMiddleware
from .context import (
    TRACE_ID_HEADER,
    annotate,
    current_span,
    current_trace_id,
    new_span_id,
    record_exception,
)
from .database import Database, DatabaseAway, DatabaseDep, unavailable_reason
from .http_client import failure_kind
from .limits import BodyLimitMiddleware
from .logs import configure_logging, configure_logging_from
from .service import Telemetry, package_version
from .service_app import ErrorAnswers, create_service_app, from_state

__all__ = [
    "CLIENT",
    "COLUMNS",
    "DATABASE_UNAVAILABLE",
    "INTERNAL",
    "SERVER",
    "TRACE_ID_HEADER",
    "AccessLogMiddleware",
    "AiopsSettings",
    "BodyLimitMiddleware",
    "Connection",
    "CopySink",
    "Database",
    "DatabaseAway",
    "DatabaseDep",
    "DatabaseServiceSettings",
    "Duration",
    "ErrorAnswers",
    "Migration",
    "ServiceSettings",
    "SimulatedWork",
    "SpanRow",
    "StartupError",
    "StartupErrorReporter",
    "Telemetry",
    "TelemetrySink",
    "WorkDep",
    "annotate",
    "apply_migrations",
    "close_pool",
    "configure_logging",
    "configure_logging_from",
    "create_service_app",
    "current_span",
    "current_trace_id",
    "failure_kind",
    "from_state",
    "load_migrations",
    "new_span_id",
    "package_version",
    "parse_duration",
    "record_exception",
    "span_row",
    "unavailable_reason",
    "wait_for_pool",
]
