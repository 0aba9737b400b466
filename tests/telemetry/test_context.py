"""Trace context: which incoming ids are kept, which are replaced, and what goes out."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from aiops_telemetry.context import (
    extract_context,
    format_traceparent,
    parse_traceparent,
    valid_trace_id,
    w3c_trace_id,
)

HEX32 = re.compile(r"[0-9a-f]{32}")
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def headers(**values: str) -> list[tuple[bytes, bytes]]:
    return [
        (name.replace("_", "-").encode(), value.encode("latin-1")) for name, value in values.items()
    ]


def test_valid_incoming_trace_id_is_kept() -> None:
    """The seed's own example id and a UUID pass through unchanged."""
    for trace_id in ("abc-123", "6f1c2d3e-aaaa-4bbb-8ccc-123456789abc", "a" * 64):
        assert extract_context(headers(x_trace_id=trace_id)) == (trace_id, None)


def test_malformed_oversized_or_injected_trace_ids_are_replaced() -> None:
    """Anything outside the safe alphabet or over 64 characters gets a fresh id."""
    hostile = [
        "",
        "a" * 65,
        "abc 123",
        "x'; DROP TABLE telemetry;--",
        "<script>alert(1)</script>",
        "abc\r\nSet-Cookie: x=1",
        "../../etc/passwd",
        "-leading-dash",
        "ümlaut",
    ]
    for value in hostile:
        trace_id, parent = extract_context(headers(x_trace_id=value))
        assert HEX32.fullmatch(trace_id), value
        assert parent is None


@given(st.text(max_size=200))
def test_any_header_value_yields_a_safe_trace_id(value: str) -> None:
    """Whatever a client sends, the trace id we use is valid and at most 64 characters."""
    trace_id, _ = extract_context([(b"x-trace-id", value.encode("utf-8"))])
    assert valid_trace_id(trace_id)
    assert trace_id == value or HEX32.fullmatch(trace_id)


def test_traceparent_alone_supplies_trace_and_parent() -> None:
    """An OpenTelemetry caller joins the same trace, as a child of its span."""
    assert extract_context(headers(traceparent=TRACEPARENT)) == (
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "00f067aa0ba902b7",
    )


def test_traceparent_parent_used_only_when_it_matches_x_trace_id() -> None:
    """A traceparent from some other trace must not graft our span onto it."""
    matching = extract_context(
        headers(x_trace_id="4bf92f35-77b3-4da6-a3ce-929d0e0e4736", traceparent=TRACEPARENT)
    )
    assert matching == ("4bf92f35-77b3-4da6-a3ce-929d0e0e4736", "00f067aa0ba902b7")
    assert extract_context(headers(x_trace_id="abc-123", traceparent=TRACEPARENT)) == (
        "abc-123",
        None,
    )


def test_invalid_traceparents_are_ignored() -> None:
    for value in (
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # all-zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # all-zero span id
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # forbidden version
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # uppercase
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\x85",  # NEL, a latin-1 byte
        "\xa000-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # NBSP
        "garbage",
    ):
        assert parse_traceparent(value) is None, value


def test_outgoing_traceparent_round_trips() -> None:
    """What we send parses back to the same W3C trace id and our span id."""
    for trace_id in ("abc-123", "4bf92f3577b34da6a3ce929d0e0e4736"):
        parsed = parse_traceparent(format_traceparent(trace_id, "00f067aa0ba902b7"))
        assert parsed == (w3c_trace_id(trace_id), "00f067aa0ba902b7")


def test_uuid_trace_ids_keep_their_digits_in_w3c_form() -> None:
    assert (
        w3c_trace_id("4bf92f35-77b3-4da6-a3ce-929d0e0e4736") == "4bf92f3577b34da6a3ce929d0e0e4736"
    )
    assert w3c_trace_id("abc-123") == w3c_trace_id("abc-123")
    assert HEX32.fullmatch(w3c_trace_id("abc-123"))
