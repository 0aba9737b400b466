"""The logging setup: one handler, JSON or console lines, trace context, and nothing secret."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import sys
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from aiops_telemetry import AccessLogMiddleware, AiopsSettings, TelemetrySink, configure_logging
from aiops_telemetry._redact import MASK, MIN_SECRET_LENGTH, Redactor
from aiops_telemetry.context import SpanContext, current_span
from aiops_telemetry.logs import ACCESS_LOGGER, LOG_FORMATS, LogFormat, formatter
from aiops_telemetry.middleware import TelemetryMiddleware
from tests.support.sample_app import sample_app


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def configured(log_format: str = "json", **options: Any) -> io.StringIO:
    out = io.StringIO()
    configure_logging(options.pop("level", "INFO"), log_format, stream=out, **options)
    return out


def json_lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def logged_while_raised(error: Exception) -> io.StringIO:
    """What a JSON handler wrote of `logger.exception("failed")` while `error` was raised."""
    out = configured()
    try:
        raise error
    except type(error):
        logging.getLogger("x").exception("failed")
    return out


class TestFormats:
    def test_a_json_line_has_the_level_logger_message_time_and_fields(self) -> None:
        """One JSON object per line: the formatted message and every `extra` field."""
        out = configured(service="checkout")
        logging.getLogger("shop.orders").info("order %s confirmed", "o-1", extra={"items": 2})
        [line] = json_lines(out)
        assert line["message"] == "order o-1 confirmed"
        assert (line["level"], line["logger"], line["service"]) == (
            "info",
            "shop.orders",
            "checkout",
        )
        assert line["items"] == 2
        assert line["timestamp"].endswith("Z")

    def test_an_exception_is_one_line_with_its_traceback(self) -> None:
        """The traceback is a field of the line, not lines of its own."""
        out = logged_while_raised(RuntimeError("it broke"))
        [line] = json_lines(out)
        assert line["level"] == "error"
        assert "RuntimeError: it broke" in line["exception"]

    def test_console_lines_are_text_with_the_fields_after_the_message(self) -> None:
        """Console: the level, the message, then `key=value` fields; the message once."""
        out = configured("console")
        logging.getLogger("x").warning("disk low", extra={"free_mb": 12})
        text = out.getvalue()
        assert "[warning" in text
        assert "disk low" in text
        assert "free_mb=12" in text
        assert not text.startswith("{")
        assert "message=" not in text  # the message is not repeated as a field

    def test_without_a_format_a_terminal_gets_console_and_anything_else_json(self) -> None:
        """Unset, the format follows the output: colored text for a person, JSON for a pipe."""
        tty = Tty()
        configure_logging("INFO", None, stream=tty)
        logging.getLogger("x").info("to a person")
        assert "\x1b[" in tty.getvalue()  # in colors
        assert "to a person" in tty.getvalue()
        pipe = io.StringIO()
        configure_logging("INFO", None, stream=pipe)
        logging.getLogger("x").info("to a machine")
        assert json.loads(pipe.getvalue())["message"] == "to a machine"

    def test_the_level_filters_and_names_are_case_insensitive(self) -> None:
        """`warning` means WARNING: an INFO line is dropped."""
        out = configured(level="warning")
        logging.getLogger("x").info("dropped")
        logging.getLogger("x").warning("kept")
        assert [line["message"] for line in json_lines(out)] == ["kept"]

    def test_unknown_level_or_format_is_refused_with_the_choices(self) -> None:
        """A typo is an error that lists what is allowed, not a silent default."""
        with pytest.raises(ValueError, match="DEBUG, INFO, WARNING, ERROR, CRITICAL"):
            configure_logging("LOUD", "json")
        with pytest.raises(ValueError, match="console or json"):
            configure_logging("INFO", "xml")


class TestTraceContext:
    @pytest.mark.parametrize("log_format", ["json", "console"])
    def test_a_line_logged_while_serving_a_request_carries_its_ids(self, log_format: str) -> None:
        """Read from the trace context the middleware sets; no call site passes them."""
        out = configured(log_format)
        token = current_span.set(SpanContext("abc-123", "00f067aa0ba902b7"))
        try:
            logging.getLogger("x").info("inside")
        finally:
            current_span.reset(token)
        text = out.getvalue()
        if log_format == "json":
            [line] = json_lines(out)
            assert (line["trace_id"], line["span_id"]) == ("abc-123", "00f067aa0ba902b7")
        else:
            assert "trace_id=abc-123" in text
            assert "span_id=00f067aa0ba902b7" in text

    @pytest.mark.parametrize("log_format", ["json", "console"])
    def test_a_line_outside_a_request_has_no_trace_keys(self, log_format: str) -> None:
        """Absent, not empty: a query for a trace id never matches a line that has none."""
        out = configured(log_format)
        logging.getLogger("x").info("outside")
        assert "trace_id" not in out.getvalue()
        assert "span_id" not in out.getvalue()


class TestHandlers:
    def test_configuring_again_leaves_one_handler(self) -> None:
        """Idempotent: each create_app call replaces the last setup, lines are not doubled."""
        configured()
        out = configured()
        logging.getLogger("x").info("once")
        assert len(json_lines(out)) == 1
        ours = [h for h in logging.getLogger().handlers if type(h).__name__ == "_Handler"]
        assert len(ours) == 1

    def test_a_console_handler_from_elsewhere_is_replaced_but_a_capture_is_kept(self) -> None:
        """A second handler on stderr would print each line twice; a capture writes elsewhere."""
        root = logging.getLogger()
        console = logging.StreamHandler(sys.stderr)
        capture_stream = io.StringIO()
        capture = logging.StreamHandler(capture_stream)
        root.addHandler(console)
        root.addHandler(capture)
        configured()
        assert console not in root.handlers
        assert capture in root.handlers

    def test_uvicorn_loggers_propagate_to_ours_and_its_access_log_is_off(self) -> None:
        """uvicorn configured its own handlers before loading the app: they are gone."""
        logging.getLogger("uvicorn").addHandler(logging.StreamHandler(io.StringIO()))
        logging.getLogger("uvicorn").propagate = False
        logging.getLogger("uvicorn.access").addHandler(logging.StreamHandler(io.StringIO()))
        out = configured()
        logging.getLogger("uvicorn.error").info("Application startup complete.")
        [line] = json_lines(out)
        assert (line["logger"], line["message"]) == (
            "uvicorn.error",
            "Application startup complete.",
        )
        # What uvicorn checks before it writes an access line at all.
        assert not logging.getLogger("uvicorn.access").hasHandlers()

    def test_httpx_request_lines_are_not_logged(self) -> None:
        """httpx logs each request's full URL at INFO; a webhook URL is a secret."""
        out = configured(level="DEBUG")
        logging.getLogger("httpx").info("HTTP Request: POST https://hooks.example/T0/B0/tok")
        assert out.getvalue() == ""


class TestRedaction:
    def test_url_passwords_are_masked_and_the_rest_kept(self) -> None:
        """Only the password goes: the scheme, user, host and path still say what it was."""
        redact = Redactor()
        assert redact("postgresql://aiops:p@ss@db:5432/aiops") == (
            f"postgresql://aiops:{MASK}@db:5432/aiops"
        )
        assert (
            redact("redis://:pw@redis:6379/0 and more") == f"redis://:{MASK}@redis:6379/0 and more"
        )
        assert redact("host=db password=hunter2 user=x") == f"host=db password={MASK} user=x"
        assert redact("http://example.com/path?q=1") == "http://example.com/path?q=1"

    def test_a_configured_url_masks_its_password_wherever_it_shows(self) -> None:
        """A URL's password, once configured, is masked on its own too."""
        redact = Redactor(["postgresql://aiops:Sup3r-secret@db/aiops"])
        assert redact("login failed with Sup3r-secret") == f"login failed with {MASK}"

    def test_short_values_are_not_scrubbed_by_value(self) -> None:
        """A short "secret" (a test database's `aiops`) would mask ordinary words everywhere."""
        redact = Redactor(["postgresql://aiops:aiops@db/aiops"])
        assert redact("aiops.access") == "aiops.access"
        assert redact("postgresql://aiops:aiops@db/aiops") == f"postgresql://aiops:{MASK}@db/aiops"

    @given(
        secret=st.text(min_size=MIN_SECRET_LENGTH, max_size=40),
        before=st.text(max_size=40),
        after=st.text(max_size=40),
    )
    def test_a_known_secret_never_survives(self, secret: str, before: str, after: str) -> None:
        """Whatever surrounds it, and even when masking joins the text into it again."""
        assert secret not in Redactor([secret])(before + secret + after + secret)

    @given(
        secrets=st.lists(st.text(min_size=MIN_SECRET_LENGTH, max_size=12), min_size=1, max_size=4),
        text=st.text(max_size=80),
    )
    def test_no_known_secret_survives_among_several(self, secrets: list[str], text: str) -> None:
        """Several secrets, overlapping or not, in any text."""
        redacted = Redactor(secrets)(secrets[0] + text + secrets[-1])
        assert not any(secret in redacted for secret in secrets)

    @given(
        password=st.text(
            st.characters(blacklist_characters="/?#", blacklist_categories=["Z", "Cc"]),
            min_size=1,
            max_size=30,
        ),
        user=st.text(st.characters(whitelist_categories=["Ll", "Nd"]), max_size=8),
        scheme=st.sampled_from(["postgresql", "postgres", "redis", "rediss", "https", "amqp"]),
    )
    def test_a_password_in_any_url_is_masked(self, password: str, user: str, scheme: str) -> None:
        """Whatever characters the password has, as far as the last `@` before the host."""
        url = f"{scheme}://{user}:{password}@host:5432/db"
        redacted = Redactor()(f"could not connect to {url}: refused")
        assert redacted == f"could not connect to {scheme}://{user}:{MASK}@host:5432/db: refused"

    @given(
        secret=st.text(min_size=MIN_SECRET_LENGTH, max_size=20),
        before=st.text(max_size=20),
        log_format=st.sampled_from(LOG_FORMATS),
    )
    def test_a_known_secret_is_not_in_a_line_even_escaped(
        self, secret: str, before: str, log_format: LogFormat
    ) -> None:
        """JSON and repr escape quotes, backslashes and control characters: the escaped
        secret is masked too, so the line decoded holds no secret either."""
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s", (before + secret,), None)
        record.field = {"nested": [secret]}
        line = formatter(log_format, secrets=[secret]).format(record)
        assert secret not in line
        if log_format == "json":
            with contextlib.suppress(ValueError):  # a "secret" like `", "logger` is the syntax
                decoded = json.loads(line)
                assert secret not in decoded["message"]
                assert secret not in json.dumps(decoded["field"], ensure_ascii=False)

    def test_every_field_of_a_line_is_scrubbed_nested_or_not(self) -> None:
        """A secret in the message, a list or a nested dict is masked; the JSON stays valid."""
        out = configured(secrets=["tok3n-value"])
        logging.getLogger("x").warning(
            "chaos token tok3n-value refused",
            extra={"targets": ["https://h/tok3n-value"], "detail": {"k": "tok3n-value"}},
        )
        assert "tok3n-value" not in out.getvalue()
        [line] = json_lines(out)
        assert line["targets"] == [f"https://h/{MASK}"]

    def test_a_traceback_is_scrubbed(self) -> None:
        """An exception's message (a DSN in a connection error) is part of the line."""
        out = logged_while_raised(
            ConnectionError("cannot reach postgresql://aiops:leaked-pw@db/aiops")
        )
        assert "leaked-pw" not in out.getvalue()


class TestSettings:
    def test_level_and_format_come_from_the_environment(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """AIOPS_LOG_LEVEL and AIOPS_LOG_FORMAT, in any case."""
        monkeypatch.setenv("AIOPS_LOG_LEVEL", "debug")
        monkeypatch.setenv("AIOPS_LOG_FORMAT", "Console")
        settings = AiopsSettings()
        assert (settings.log_level, settings.log_format) == ("DEBUG", "console")

    def test_defaults_are_info_and_chosen_by_the_terminal(self) -> None:
        """INFO, and no format: chosen by whether stderr is a terminal."""
        settings = AiopsSettings()
        assert (settings.log_level, settings.log_format) == ("INFO", None)

    def test_an_empty_format_is_the_default(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Compose passes `${AIOPS_LOG_FORMAT:-}` as an empty string."""
        monkeypatch.setenv("AIOPS_LOG_FORMAT", "")
        assert AiopsSettings().log_format is None

    @pytest.mark.parametrize(
        ("variable", "value", "message"),
        [
            ("AIOPS_LOG_LEVEL", "loud", "AIOPS_LOG_LEVEL must be one of DEBUG, INFO"),
            ("AIOPS_LOG_FORMAT", "xml", "AIOPS_LOG_FORMAT must be console or json"),
        ],
    )
    def test_a_bad_value_is_refused_with_what_is_allowed(
        self, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
    ) -> None:
        """The settings error names the variable and its choices."""
        monkeypatch.setenv(variable, value)
        with pytest.raises(ValidationError, match=message):
            AiopsSettings()


def access_app(*, traced: bool) -> FastAPI:
    app = sample_app()
    app.add_middleware(AccessLogMiddleware)
    if traced:

        async def no_database() -> Any:
            raise OSError("not used")

        app.add_middleware(
            TelemetryMiddleware, sink=TelemetrySink(no_database), service_name="access-test"
        )
    return app


class TestAccessLog:
    async def test_one_line_per_request_with_method_path_status_duration_and_trace(self) -> None:
        """The handler's line and the access line share the trace and span ids."""
        out = configured()
        transport = httpx.ASGITransport(access_app(traced=True))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/items/7?secret=x", headers={"X-Trace-Id": "acc-1"})
        assert response.status_code == 200
        lines = json_lines(out)
        handler_line, access = lines
        assert handler_line["trace_id"] == access["trace_id"] == "acc-1"
        assert access["span_id"] == handler_line["span_id"]
        assert access["logger"] == ACCESS_LOGGER
        assert (access["method"], access["path"], access["status"]) == ("GET", "/items/7", 200)
        assert access["duration_ms"] >= 0
        assert "secret" not in out.getvalue()  # no query string

    async def test_an_unhandled_error_logs_500_once(self) -> None:
        """The tracing middleware answers the 500; the access line says so, once."""
        out = configured()
        transport = httpx.ASGITransport(access_app(traced=True))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/boom")
        assert response.status_code == 500
        [access] = [line for line in json_lines(out) if line["logger"] == ACCESS_LOGGER]
        assert access["status"] == 500
        assert access["trace_id"] == response.headers["x-trace-id"]

    async def test_health_probes_log_at_debug_and_untraced_apps_log_no_trace(self) -> None:
        """Probes are DEBUG; an app without tracing (the analyzer) has no trace keys."""
        out = configured(level="DEBUG")
        transport = httpx.ASGITransport(access_app(traced=False))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            await client.get("/health")
            await client.get("/items/1")
        accesses = [line for line in json_lines(out) if line["logger"] == ACCESS_LOGGER]
        assert [(a["path"], a["level"]) for a in accesses] == [
            ("/health", "debug"),
            ("/items/1", "info"),
        ]
        assert not any("trace_id" in a for a in accesses)

    async def test_a_path_with_a_newline_stays_on_one_line(self) -> None:
        """A percent-decoded newline in the path cannot forge a console line."""
        out = configured("console")
        transport = httpx.ASGITransport(access_app(traced=False))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            await client.get("/items/%0AFAKE")
        assert len(out.getvalue().splitlines()) == 1
