"""A series' state as plain JSON and back, for storage (the analyzer keeps it in a jsonb column).

The season is left out: it is kept hour by hour apart from the state (only the hours that
change are written), and handed back when the state is read. The document follows the
state's dataclasses field by field, read back by their type hints, so a field the engine
adds (with a default) is stored without a change here, and an older document without it
reads with its default. Floats that JSON cannot hold travel as the strings `Infinity`,
`-Infinity` and `NaN`, so any state is storable and reads back as it was.
"""

from __future__ import annotations

import dataclasses
import math
import types
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Union, get_args, get_origin, get_type_hints

from .model import MetricState, ValueSeason

VERSION = 1  # the document's shape; a document of another is not read
_APART = frozenset({"season"})  # fields stored elsewhere


def state_to_json(state: MetricState) -> dict[str, Any]:
    """`state` without its season, as a JSON-able dict."""
    document: dict[str, Any] = _encode(state)
    return {"v": VERSION, **document}


def state_from_json(data: Mapping[str, Any], season: ValueSeason | None = None) -> MetricState:
    """The state `state_to_json` wrote, with `season` (its hours, stored apart) put back.

    Raises ValueError, KeyError or TypeError on a document that is not one."""
    if data.get("v") != VERSION:
        raise ValueError(f"unknown metric state version {data.get('v')!r}")
    state = _decode(MetricState, data)
    assert isinstance(state, MetricState)
    return dataclasses.replace(state, season=season or ValueSeason())


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _encode(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name not in _APART
        }
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, tuple):
        return [_encode(item) for item in value]
    return value  # str, int, bool, a finite float, None


def _decode(cls: type[Any], data: Mapping[str, Any]) -> Any:
    if not isinstance(data, Mapping):
        raise TypeError(f"{cls.__name__}: not an object: {data!r}")
    hints = _hints(cls)
    given = {
        f.name: _value(hints[f.name], data[f.name])
        for f in dataclasses.fields(cls)
        if f.name not in _APART and f.name in data  # missing: the field's default
    }
    return cls(**given)


_HINTS: dict[type[Any], dict[str, Any]] = {}  # each class's hints, resolved once


def _hints(cls: type[Any]) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


def _value(hint: Any, raw: Any) -> Any:
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        if raw is None and type(None) in args:
            return None
        [inner] = [arg for arg in args if arg is not type(None)]
        return _value(inner, raw)
    if origin is tuple:
        if not isinstance(raw, list):
            raise TypeError(f"not a list: {raw!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_value(args[0], item) for item in raw)
        return tuple(_value(arg, item) for arg, item in zip(args, raw, strict=True))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _decode(hint, raw)
    if hint is datetime:
        return datetime.fromisoformat(raw)
    if hint is bool and isinstance(raw, bool):
        return raw
    if hint is int and isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if hint is float and isinstance(raw, int | float | str) and not isinstance(raw, bool):
        return float(raw)
    if hint is str and isinstance(raw, str):
        return raw
    raise TypeError(f"{raw!r} is not a {hint}")
