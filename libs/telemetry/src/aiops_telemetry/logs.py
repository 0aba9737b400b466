"""One logging setup for every service: stdlib loggers everywhere, rendered by structlog.

Code logs as it always has (`logging.getLogger(__name__).info(...)`, with
`extra={...}` for fields); `configure_logging` gives the root logger one
handler whose `structlog.stdlib.ProcessorFormatter` turns every record —
ours, uvicorn's, any library's — into one line of JSON or of console text,
with the level, the logger, a UTC timestamp, the fields, the trace context of
the request being served (`trace_id`, `span_id`; absent outside one) and
secrets masked (`Redactor`). Settings: `AIOPS_LOG_LEVEL`, `AIOPS_LOG_FORMAT`
(docs/logging.md).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal, TextIO, get_args

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from ._redact import Redactor
from .context import current_span

if TYPE_CHECKING:  # _settings imports this module's types
    from ._settings import AiopsSettings

LogFormat = Literal["console", "json"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LOG_FORMATS: tuple[LogFormat, ...] = get_args(LogFormat)
LOG_LEVELS: tuple[LogLevel, ...] = get_args(LogLevel)

# The access line of every request (`AccessLogMiddleware`).
ACCESS_LOGGER = "aiops.access"
# uvicorn's own loggers: startup, shutdown, errors. They reach the root handler like any other.
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.asgi")
# httpx logs every request at INFO with its full URL, and a webhook URL is a secret; our
# client spans already record each call. httpcore and watchfiles are noise below WARNING.
_QUIET_LOGGERS = ("httpx", "httpcore", "watchfiles")
_JSON_FIRST = ("timestamp", "level", "service", "logger", "message", "trace_id", "span_id")
# Not fields: uvicorn's `extra` for its own colored formatter, and what a stdlib formatter
# that saw the record first left on it.
_DROPPED_EXTRAS = ("color_message", "message", "asctime")


def parse_level(value: object) -> LogLevel:
    """A level name in any case (`info`), or ValueError naming the choices."""
    name = value.strip().upper() if isinstance(value, str) else value
    for level in LOG_LEVELS:
        if name == level:
            return level
    raise ValueError(f"AIOPS_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {value!r}")


def parse_format(value: object) -> LogFormat | None:
    """`console` or `json` in any case; None (also for "") for the default."""
    if value is None:
        return None
    name = value.strip().lower() if isinstance(value, str) else value
    if name == "":
        return None
    for log_format in LOG_FORMATS:
        if name == log_format:
            return log_format
    raise ValueError(
        "AIOPS_LOG_FORMAT must be console or json (unset: console on a terminal, "
        f"json otherwise), not {value!r}"
    )


def add_trace_context(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """`trace_id` and `span_id` of the request being served; nothing outside a request."""
    span = current_span.get()
    if span is not None:
        event_dict.setdefault("trace_id", span.trace_id)
        event_dict.setdefault("span_id", span.span_id)
    return event_dict


def _drop_extras(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    for key in _DROPPED_EXTRAS:
        event_dict.pop(key, None)
    return event_dict


def _json_order(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """The keys every line has first, then its own fields, then a traceback if any."""
    first = {key: event_dict.pop(key) for key in _JSON_FIRST if key in event_dict}
    exception = {"exception": event_dict.pop("exception")} if "exception" in event_dict else {}
    return {**first, **event_dict, **exception}


def _add_service(service: str) -> Processor:
    def add_service(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("service", service)
        return event_dict

    return add_service


class _Handler(logging.StreamHandler[TextIO]):
    """The root's one handler. Without a stream of its own it writes to whatever `sys.stderr`
    is at the time (a test runner swaps it), not to the one there was at setup."""

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__(stream or sys.stderr)
        self._follow_stderr = stream is None

    def emit(self, record: logging.LogRecord) -> None:
        if self._follow_stderr:
            self.stream = sys.stderr  # under the handler's lock (Handler.handle holds it)
        super().emit(record)


def formatter(
    log_format: LogFormat,
    *,
    service: str | None = None,
    secrets: Iterable[str] = (),
    colors: bool = False,
) -> structlog.stdlib.ProcessorFormatter:
    """The formatter `configure_logging` installs, for a handler of one's own."""
    redactor = Redactor(secrets)
    pre_chain: list[Processor] = [
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.add_log_level,
        *([_add_service(service)] if service else []),
        structlog.stdlib.add_logger_name,
        add_trace_context,
        structlog.stdlib.ExtraAdder(),
        _drop_extras,
    ]
    render: list[Processor]
    if log_format == "json":
        render = [
            structlog.processors.EventRenamer("message"),
            _json_order,
            # ASCII (the default): no character in a value can break the line in two.
            structlog.processors.JSONRenderer(sort_keys=False),
        ]
    else:
        render = [structlog.dev.ConsoleRenderer(colors=colors, sort_keys=False)]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=pre_chain,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,  # the traceback: a field of the line
            *render,
            redactor.rendered,  # last: whatever a field held, it is text in the line now
        ],
    )


def configure_logging(
    level: LogLevel | str | int = "INFO",
    format: LogFormat | str | None = None,
    *,
    service: str | None = None,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> None:
    """Route every logger of the process through one structured handler; safe to call again.

    `level` is a name (`AIOPS_LOG_LEVEL`) or a number; `format` is `console`,
    `json`, or None for console when the output is a terminal and JSON
    otherwise (`AIOPS_LOG_FORMAT`). `service` is added to every line;
    `secrets` (configured passwords, tokens, webhook URLs) are masked wherever
    they appear, as are URL passwords; `stream` defaults to `sys.stderr`.

    Call it from `create_app`: uvicorn has configured its own logging by then
    (it loads the app after), and this replaces that. Its loggers lose their
    handlers and propagate to the root, so their lines look like ours;
    `uvicorn.access` is switched off, since `AccessLogMiddleware` writes the
    one access line per request. Console handlers some other code put on the
    root are replaced (they would print each line twice); others, such as a
    test runner's capture, are kept.
    """
    numeric = level if isinstance(level, int) else logging.getLevelName(parse_level(level))
    log_format = parse_format(format)
    out = stream or sys.stderr
    if log_format is None:
        log_format = "console" if _isatty(out) else "json"
    handler = _Handler(stream)
    handler.setFormatter(
        formatter(
            log_format,
            service=service,
            secrets=secrets,
            colors=log_format == "console" and _isatty(out),
        )
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        if _prints_to_console(old):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in _UVICORN_LOGGERS:
        _propagate_only(logging.getLogger(name))
    # One access line per request, with its duration and trace id, comes from our middleware
    # (uvicorn's has neither: it is written at the response's start, outside the trace).
    # No handler and no propagation also makes uvicorn skip building its line at all.
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))


def _propagate_only(logger: logging.Logger) -> None:
    logger.handlers.clear()
    logger.propagate = True
    logger.setLevel(logging.NOTSET)
    logger.disabled = False


def _prints_to_console(handler: logging.Handler) -> bool:
    if isinstance(handler, _Handler):
        return True
    consoles = (sys.stderr, sys.stdout, sys.__stderr__, sys.__stdout__)
    return type(handler) is logging.StreamHandler and handler.stream in consoles


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed, or not a real file
        return False


def configure_logging_from(settings: AiopsSettings, *, service: str) -> None:
    """`configure_logging` as every service calls it: its settings, its name, its secrets."""
    configure_logging(
        settings.log_level, settings.log_format, service=service, secrets=settings.secret_values()
    )
