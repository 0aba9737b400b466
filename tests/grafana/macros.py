"""Expand a Grafana PostgreSQL panel query into the SQL Grafana would run.

Grafana cannot be pulled on our machines, so the dashboards are tested by
doing Grafana's two expansion steps here and running the result on a real
PostgreSQL:

1. The browser replaces template variables (`templateSrv.replace` with the
   SQL data source's `interpolateVariable`): `$name` and `${name}`. A value
   of a variable that is neither multi-value nor has "All" is only escaped
   (`'` doubled), so the query itself quotes it: `= '$endpoint'`. A multi /
   "All" variable becomes its values, each quoted, joined by commas: `IN
   ($service)`; "All" without a custom all value means every option. The
   built-ins `$__interval`, `$__interval_ms`, `$__from` and `$__to` are
   variables too.
2. The backend expands macros (`$__name(args)`, arguments split on commas,
   no nested parentheses) as pkg/tsdb/grafana-postgresql-datasource/macros.go
   does without TimescaleDB: `$__timeFilter(col)` -> `col BETWEEN '<from>'
   AND '<to>'` (RFC 3339, UTC), `$__timeGroup(col, 10s)` ->
   `floor(extract(epoch from col)/10)*10`, `$__timeGroupAlias` adds `AS
   "time"`, and so on. A fill argument only changes Grafana's post-processing,
   so it is accepted and ignored.

Stricter than Grafana on purpose: an unknown variable or macro raises, so a
typo in a dashboard fails its test instead of reaching PostgreSQL as `$typo`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

# The same shapes Grafana matches: templateSrv's `$name` / `${name}`, and the
# backend's `$name(args)` with no `)` inside the arguments.
_VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)\}")
_MACRO = re.compile(r"\$([_a-zA-Z0-9]+)\(([^)]*)\)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_INTERVAL = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")

MACROS = frozenset(
    {
        "__time",
        "__timeEpoch",
        "__timeFilter",
        "__timeFrom",
        "__timeTo",
        "__timeGroup",
        "__timeGroupAlias",
        "__unixEpochFilter",
    }
)


@dataclass(frozen=True, slots=True)
class TimeRange:
    """The dashboard's time range, as Grafana sends it to the backend."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Variable:
    """A template variable's current value; `multi` for a multi-value or "All" variable."""

    value: str | tuple[str, ...]
    multi: bool = False


def interval_seconds(interval: str) -> float:
    """Seconds in a Grafana interval such as `10s`, `1m` or `500ms`."""
    match = _INTERVAL.fullmatch(interval.strip().strip("'"))
    if match is None:
        raise ValueError(f"cannot parse interval {interval!r}")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def expand(
    sql: str, time_range: TimeRange, variables: Mapping[str, Variable], interval: str = "10s"
) -> str:
    """`sql` with variables, then macros, replaced as Grafana replaces them."""
    builtins = {
        "__interval": Variable(interval),
        "__interval_ms": Variable(_number(interval_seconds(interval) * 1000)),
        "__from": Variable(str(_epoch_ms(time_range.start))),
        "__to": Variable(str(_epoch_ms(time_range.end))),
    }
    return _expand_macros(_expand_variables(sql, {**builtins, **variables}), time_range)


def _expand_variables(sql: str, variables: Mapping[str, Variable]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name in variables:
            return _format(variables[name])
        if name in MACROS and match.group(1) and sql[match.end() : match.end() + 1] == "(":
            return match.group(0)  # a macro: the backend's step
        raise KeyError(f"unknown variable or macro ${name} in {sql!r}")

    return _VARIABLE.sub(replace, sql)


def _format(variable: Variable) -> str:
    """The SQL data source's interpolateVariable."""
    if isinstance(variable.value, tuple):
        return ",".join(_quote(value) for value in variable.value)
    if variable.multi:
        return _quote(variable.value)
    return variable.value.replace("'", "''")


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _expand_macros(sql: str, time_range: TimeRange) -> str:
    def replace(match: re.Match[str]) -> str:
        name, args = match.group(1), [arg.strip() for arg in match.group(2).split(",")]
        # Grafana's pre-5.3 compatibility: `$__timeGroup(...)` directly followed
        # by a comma is read as `$__timeGroupAlias(...)`.
        if name == "__timeGroup" and sql[match.end() : match.end() + 1] == ",":
            name = "__timeGroupAlias"
        return _macro(name, args, time_range)

    return _MACRO.sub(replace, sql)


def _macro(name: str, args: list[str], time_range: TimeRange) -> str:
    start, end = _rfc3339(time_range.start), _rfc3339(time_range.end)
    column = args[0]
    if name in {"__time", "__timeEpoch", "__timeFilter", "__unixEpochFilter"} and not column:
        raise ValueError(f"missing time column argument for macro {name}")
    match name:
        case "__time":
            return f'{column} AS "time"'
        case "__timeEpoch":
            return f'extract(epoch from {column}) as "time"'
        case "__timeFilter":
            return f"{column} BETWEEN '{start}' AND '{end}'"
        case "__timeFrom":
            return f"'{start}'"
        case "__timeTo":
            return f"'{end}'"
        case "__unixEpochFilter":
            first, last = int(time_range.start.timestamp()), int(time_range.end.timestamp())
            return f"{column} >= {first} AND {column} <= {last}"
        case "__timeGroup" | "__timeGroupAlias":
            if len(args) < 2:
                raise ValueError(f"macro {name} needs a time column and an interval")
            seconds = _number(interval_seconds(args[1]))
            group = f"floor(extract(epoch from {column})/{seconds})*{seconds}"
            return group + (' AS "time"' if name == "__timeGroupAlias" else "")
    raise ValueError(f"unknown macro ${name}")


def _number(value: float) -> str:
    """A float as Go's %v prints it for the intervals we use: 10, not 10.0."""
    return str(int(value)) if value.is_integer() else repr(value)


def _rfc3339(moment: datetime) -> str:
    """Go's time.RFC3339Nano in UTC: `Z`, and no trailing zeros in the fraction."""
    utc = moment.astimezone(UTC)
    fraction = f"{utc.microsecond:06d}".rstrip("0")
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
