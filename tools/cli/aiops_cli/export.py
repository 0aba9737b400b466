"""`aiops export --since 30m PATH`: the stack's telemetry as OTLP JSON lines.

One `ExportTraceServiceRequest` per line (what the OpenTelemetry Collector's
file exporter writes, and what `aiops replay` and the OTLP receiver read),
BATCH_SPANS spans a line, grouped by service into `resourceSpans`; gzip when
PATH ends with `.gz`. It is the inverse of `aiops_telemetry.otlp.rows_from_otlp_json`:
reading a line back gives the very rows that were exported (export_otlp.py
says how each column travels).

Rows stream from a server-side cursor, so memory stays bounded by one batch
whatever the window holds. The file appears whole or not at all: it is written
beside PATH and renamed when complete.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, TypedDict

import asyncpg

from .client import CliError
from .export_otlp import export_request

SUMMARY = "the stack's telemetry as OTLP JSON lines, for `aiops replay` or any OTLP tool"
BATCH_SPANS = 1000
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d)")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

_SELECT = """
SELECT "timestamp", service_name, endpoint, method, status_code, latency_ms, error_message,
       trace_id, span_id, parent_span_id, kind, peer_service, error_kind, attributes::text
FROM telemetry
WHERE "timestamp" >= $1 AND "timestamp" < $2
    AND ($3::text[] IS NULL OR service_name = ANY($3::text[]))
ORDER BY "timestamp", span_id
"""


@dataclass(frozen=True)
class Exported:
    path: str
    spans: int
    lines: int
    since: datetime
    until: datetime


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="the file to write (gzip when it ends with .gz)")
    parser.add_argument(
        "--since", default="30m", help="start: a duration back from now (90s, 30m, 2h, 1d) or "
        "an ISO-8601 time (default 30m)",
    )  # fmt: skip
    parser.add_argument("--until", default=None, help="end, the same way (default: now)")
    parser.add_argument(
        "--service", action="append", default=None, help="only this service (repeatable)"
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL URL ($AIOPS_DATABASE_URL, else the running compose stack's database)",
    )


class ExportSummary(TypedDict):
    """What `aiops export --json` prints."""

    path: str
    spans: int
    lines: int
    since: str
    until: str


def run(args: argparse.Namespace) -> tuple[ExportSummary, str]:
    """The `export` command: what it wrote, as data and as one line of text."""
    now = datetime.now(UTC)
    since = parse_time(args.since, now)
    until = parse_time(args.until, now) if args.until else now
    if since >= until:
        raise CliError(
            f"--since ({since.isoformat()}) must be before --until ({until.isoformat()})"
        )
    url = database_url(args.database_url)
    done = asyncio.run(export(url, args.path, since=since, until=until, services=args.service))
    text = (
        f"exported {done.spans} spans in {done.lines} lines to {done.path} "
        f"({since.isoformat(timespec='seconds')} .. {until.isoformat(timespec='seconds')})"
    )
    written: ExportSummary = {"path": done.path, "spans": done.spans, "lines": done.lines,
                              "since": since.isoformat(), "until": until.isoformat()}  # fmt: skip
    return written, text


def parse_time(text: str, now: datetime) -> datetime:
    """`30m`, `2h`, `1d12h`, `90s` back from `now`, or an ISO-8601 time (UTC unless it says)."""
    seconds = parse_duration(text)
    if seconds is not None:
        return now - timedelta(seconds=seconds)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CliError(
            f"{text!r} is neither a duration (90s, 30m, 2h, 1d) nor an ISO-8601 time"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_duration(text: str) -> float | None:
    """`90s`, `30m`, `2h`, `1d12h` in seconds (as the AIOPS_* durations are written); None if
    `text` is not one."""
    spec = text.strip().lower()
    if not spec or _DURATION.sub("", spec).strip():
        return None
    return sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(spec))


def database_url(given: str | None, environ: Mapping[str, str] | None = None) -> str:
    """--database-url, else AIOPS_DATABASE_URL, else the compose stack's (its generated
    password read as `make chaos` reads it)."""
    env = os.environ if environ is None else environ
    if given or env.get("AIOPS_DATABASE_URL"):
        return given or env["AIOPS_DATABASE_URL"]
    # Imported here: only this fallback needs the chaos tools' view of the stack.
    from aiops_chaos.stack_settings import StackError, StackSettings, find_repo_root

    try:
        return StackSettings.from_env(find_repo_root(), env).database_url
    except StackError as exc:
        raise CliError(f"{exc} (or pass --database-url)") from exc


async def export(
    url: str,
    path: str,
    *,
    since: datetime,
    until: datetime,
    services: Sequence[str] | None = None,
    batch: int = BATCH_SPANS,
) -> Exported:
    """Write the spans of [since, until) (of `services`, or all) to `path`."""
    try:
        conn: asyncpg.Connection = await asyncpg.connect(url, timeout=10)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        raise CliError(f"cannot connect to PostgreSQL: {type(exc).__name__}: {exc}") from exc
    spans = lines = 0
    try:
        with _AtomicText(Path(path)) as out:
            async for request, count in _requests(conn, since, until, services, batch):
                out.write(json.dumps(request, separators=(",", ":"), ensure_ascii=False))
                out.write("\n")
                spans, lines = spans + count, lines + 1
    except asyncpg.UndefinedTableError as exc:
        raise CliError("this database has no telemetry table: is it the stack's?") from exc
    finally:
        await conn.close()
    return Exported(path, spans, lines, since, until)


async def _requests(
    conn: asyncpg.Connection,
    since: datetime,
    until: datetime,
    services: Sequence[str] | None,
    batch: int,
) -> AsyncIterator[tuple[dict[str, Any], int]]:
    """One ExportTraceServiceRequest (and its span count) per `batch` rows, in time order."""
    # A cursor lives in a transaction; REPEATABLE READ READ ONLY: one snapshot for the file.
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        rows: list[dict[str, Any]] = []
        selected = list(services) if services else None
        async for row in conn.cursor(_SELECT, since, until, selected, prefetch=batch):
            rows.append(dict(row.items()))
            if len(rows) == batch:
                yield export_request(rows), len(rows)
                rows = []
        if rows:
            yield export_request(rows), len(rows)


class _AtomicText:
    """A text file written beside `path` and renamed onto it only when complete."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.partial = path.with_name(f".{path.name}.partial")
        self.file: IO[str] | None = None

    def __enter__(self) -> IO[str]:
        try:
            if self.path.name.endswith(".gz"):
                self.file = gzip.open(self.partial, "wt", encoding="utf-8")
            else:
                self.file = self.partial.open("w", encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot write {self.path}: {exc.strerror or exc}") from exc
        return self.file

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        assert self.file is not None
        self.file.close()
        if exc_type is None:
            self.partial.replace(self.path)
        else:
            self.partial.unlink(missing_ok=True)
