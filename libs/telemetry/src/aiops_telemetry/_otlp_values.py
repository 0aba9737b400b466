"""OTLP attribute values (`AnyValue`) as plain, storable Python values, from protobuf or JSON.

Everything here is defensive: the input comes from any program on the
network. Strings lose NULs and lone surrogates (PostgreSQL text and jsonb
refuse both, and a row the table refuses is a row lost); non-finite floats
become strings (jsonb has no NaN); nesting, list lengths and string sizes are
bounded so one span cannot make a huge row.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

MAX_DEPTH = 4  # nested arrays / key-value lists kept; deeper ones become a marker
MAX_ITEMS = 128  # items kept of one array or key-value list
MAX_STRING = 4_096  # characters kept of one string value
MAX_KEY = 256  # characters kept of one attribute key
MAX_ATTRIBUTES = 256  # attributes read of one span or resource (the SDKs' default limit is 128)
MAX_ATTRIBUTES_JSON = 16_384  # characters of a row's `attributes` JSON text
DROPPED_KEY = "aiops.dropped_attributes"  # how many attributes did not fit the row

Value = Any  # str | int | float | bool | None | list[Value] | dict[str, Value]


def clean(text: str) -> str:
    """`text` storable as PostgreSQL text: no NUL, no lone surrogate."""
    if text.isascii():
        return text.replace("\x00", "\\0") if "\x00" in text else text
    text = text.replace("\x00", "\\0")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, from a JSON \ud800 escape
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def bounded(text: str, limit: int = MAX_STRING) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} characters dropped)"


def _finite(number: float) -> float | str:
    if math.isfinite(number):
        return number
    # As proto3 JSON spells them: jsonb has no NaN or infinity.
    return "NaN" if math.isnan(number) else "Infinity" if number > 0 else "-Infinity"


# protobuf ----------------------------------------------------------------------------------


_keys: dict[str, str] = {}  # attribute keys repeat in every span: clean each once


def key(raw: str) -> str:
    found = _keys.get(raw)
    if found is None:
        found = bounded(clean(raw), MAX_KEY)
        if len(_keys) < 4_096:
            _keys[raw] = found
    return found


def proto_attributes(attributes: Iterable[KeyValue]) -> dict[str, Value]:
    found: dict[str, Value] = {}
    known = _keys.get
    for kv in attributes:
        name = kv.key
        name = known(name) or key(name)
        value = kv.value
        if value.WhichOneof("value") == "string_value":  # most are: the short way
            text = value.string_value
            if text.isascii() and len(text) <= MAX_STRING and "\x00" not in text:
                found[name] = text
                continue
        found[name] = proto_value(value, 0)
    return found


def proto_value(value: AnyValue, depth: int) -> Value:
    which = value.WhichOneof("value")
    if which == "string_value":
        return bounded(clean(value.string_value))
    if which == "int_value" or which == "bool_value":
        return getattr(value, which)
    if which == "double_value":
        return _finite(value.double_value)
    if which == "bytes_value":  # as OTLP/JSON writes bytes: base64
        return bounded(base64.b64encode(value.bytes_value).decode("ascii"))
    if which is None:
        return None
    if depth >= MAX_DEPTH:
        return "<nested too deep>"
    if which == "array_value":
        return [proto_value(item, depth + 1) for item in value.array_value.values[:MAX_ITEMS]]
    pairs = value.kvlist_value.values[:MAX_ITEMS]
    return {key(kv.key): proto_value(kv.value, depth + 1) for kv in pairs}


# JSON (camelCase as the spec writes it, snake_case as the Collector's file exporter may) --


def field(obj: Mapping[str, Any], camel: str, snake: str) -> Any:
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def json_attributes(attributes: Any) -> dict[str, Value]:
    if not isinstance(attributes, list):
        return {}
    return json_attributes_nested(attributes[:MAX_ATTRIBUTES], 0)


_JSON_KINDS = (
    ("stringValue", "string_value"),
    ("intValue", "int_value"),
    ("boolValue", "bool_value"),
    ("doubleValue", "double_value"),
    ("bytesValue", "bytes_value"),
    ("arrayValue", "array_value"),
    ("kvlistValue", "kvlist_value"),
)


def json_value(value: Any, depth: int) -> Value:
    """An AnyValue object as a Python value; anything unreadable becomes None (JSON null)."""
    if not isinstance(value, dict):
        return None
    # Most attributes are strings or ints, in the spec's camelCase: answer those first.
    if (raw := value.get("stringValue")) is not None:
        return bounded(clean(raw)) if isinstance(raw, str) else None
    if (raw := value.get("intValue")) is not None:
        return integer(raw)
    for camel, snake in _JSON_KINDS:
        raw = field(value, camel, snake)
        if raw is not None:
            return _json_kind(camel, raw, depth)
    return None


def _json_kind(kind: str, raw: Any, depth: int) -> Value:
    if kind == "stringValue":
        return bounded(clean(raw)) if isinstance(raw, str) else None
    if kind == "intValue":  # int64 travels as a string in OTLP/JSON
        return integer(raw)
    if kind == "boolValue":
        return raw if isinstance(raw, bool) else None
    if kind == "doubleValue":
        return _json_double(raw)
    if kind == "bytesValue":
        return bounded(clean(raw)) if isinstance(raw, str) else None
    if depth >= MAX_DEPTH:
        return "<nested too deep>"
    items = raw.get("values") if isinstance(raw, dict) else None
    if not isinstance(items, list):
        return [] if kind == "arrayValue" else {}
    if kind == "arrayValue":
        return [json_value(item, depth + 1) for item in items[:MAX_ITEMS]]
    return json_attributes_nested(items[:MAX_ITEMS], depth + 1)


def json_attributes_nested(items: list[Any], depth: int) -> dict[str, Value]:
    found: dict[str, Value] = {}
    for kv in items:
        # Proto3 JSON leaves out a field at its default: no "key" is the key "".
        if isinstance(kv, dict) and isinstance(name := kv.get("key", ""), str):
            found[key(name)] = json_value(kv.get("value"), depth)
    return found


def _json_double(raw: Any) -> float | str | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        return _finite(float(raw)) if not isinstance(raw, int) or abs(raw) < 2**63 else None
    if isinstance(raw, str) and len(raw) <= 40:  # "NaN", "Infinity" as proto3 JSON writes them
        try:
            return _finite(float(raw))
        except ValueError:
            return None
    return None


def integer(raw: Any) -> int | None:
    """An int64 from JSON: a number or a decimal string; None when it is not one."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if -(2**63) <= raw < 2**64 else None
    if isinstance(raw, float):
        return int(raw) if math.isfinite(raw) and abs(raw) < 2**64 else None
    if isinstance(raw, str) and 0 < len(raw) <= 21:
        try:
            number = int(raw, 10)
        except ValueError:
            return None
        return number if -(2**63) <= number < 2**64 else None
    return None


# the row's `attributes` text -----------------------------------------------------------------

# One encoder for every row: json.dumps with options builds a new one per call.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode


def attributes_json(attributes: Mapping[str, Value]) -> str | None:
    """A JSON object of `attributes`, at most MAX_ATTRIBUTES_JSON characters; None if empty.

    When they do not all fit, whole attributes are left out (in order, the
    largest first) and DROPPED_KEY says how many: a row is never refused for
    its attributes.
    """
    if not attributes:
        return None
    text = _encode(attributes)
    if len(text) <= MAX_ATTRIBUTES_JSON:
        return text
    sizes = {k: len(json.dumps(v, ensure_ascii=False)) + len(k) for k, v in attributes.items()}
    kept = dict(attributes)
    total = sum(sizes.values()) + 4 * len(sizes)  # quotes, colon and comma of each
    budget = MAX_ATTRIBUTES_JSON - 64  # room for the marker
    for key in sorted(sizes, key=sizes.__getitem__, reverse=True):
        if total <= budget:
            break
        del kept[key]
        total -= sizes[key] + 4
    kept[DROPPED_KEY] = len(attributes) - len(kept)
    return _encode(kept)
