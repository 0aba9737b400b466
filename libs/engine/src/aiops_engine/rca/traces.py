"""Spans linked into call trees by their ids, never by their timestamps.

Each service stamps its spans with its own clock, so a callee's span can
start "before" its caller's. The parent ids are the only order to trust:
timestamps merely order siblings, for a stable result.

Telemetry is lossy, so the trees are built defensively: a span whose parent
row is missing (lost, or not landed yet) becomes a root of its own, a row
written twice counts once, and a parent cycle (corrupt ids) is cut instead
of followed forever. Building and walking are iterative, so a pathologically
deep trace cannot exhaust the recursion limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from .model import Dependency, Span

_Id = tuple[str, str]  # (trace_id, span_id): span ids need only be unique within a trace


@dataclass(frozen=True, slots=True)
class TraceNode:
    """A span and the calls made while serving it, ordered by (start, span_id)."""

    span: Span
    children: tuple[TraceNode, ...]

    def walk(self) -> Iterator[TraceNode]:
        """This node and everything below it, depth first, parents before children."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))


def _order(span: Span) -> tuple[datetime, str]:
    return (span.start, span.span_id)


def _id(span: Span) -> _Id:
    return (span.trace_id, span.span_id)


def build_trees(spans: Iterable[Span]) -> list[TraceNode]:
    """The call trees of `spans`, roots ordered by (start, span_id).

    Roots are spans without a parent and spans whose parent is absent. Of
    spans sharing an id the first one given is kept. A parent cycle is cut
    at its earliest span, which becomes a root.
    """
    by_id: dict[_Id, Span] = {}
    for span in spans:
        by_id.setdefault(_id(span), span)

    parent_of: dict[_Id, _Id | None] = {}
    for key, span in by_id.items():
        parent = None if span.parent_span_id is None else (span.trace_id, span.parent_span_id)
        parent_of[key] = parent if parent in by_id else None
    _cut_cycles(parent_of, by_id)

    roots: list[Span] = []
    children: dict[_Id, list[Span]] = {}
    for key, parent in parent_of.items():
        if parent is None:
            roots.append(by_id[key])
        else:
            children.setdefault(parent, []).append(by_id[key])
    for siblings in children.values():
        siblings.sort(key=_order)
    roots.sort(key=_order)

    # Bottom up with an explicit stack: a node is built once its children are.
    built: dict[_Id, TraceNode] = {}
    for root in roots:
        stack: list[tuple[Span, bool]] = [(root, False)]
        while stack:
            span, expanded = stack.pop()
            kids = children.get(_id(span), [])
            if expanded:
                built[_id(span)] = TraceNode(span, tuple(built.pop(_id(kid)) for kid in kids))
            else:
                stack.append((span, True))
                stack.extend((kid, False) for kid in kids)
    return [built[_id(root)] for root in roots]


def _cut_cycles(parent_of: dict[_Id, _Id | None], by_id: dict[_Id, Span]) -> None:
    """Make every parent chain end at a root, cutting each cycle at its earliest span."""
    done: set[_Id] = set()
    for start in sorted(parent_of, key=lambda key: _order(by_id[key])):
        path: list[_Id] = []
        on_path: set[_Id] = set()
        current: _Id | None = start
        while current is not None and current not in done:
            if current in on_path:
                cycle = path[path.index(current) :]
                parent_of[min(cycle, key=lambda key: _order(by_id[key]))] = None
                break
            path.append(current)
            on_path.add(current)
            current = parent_of[current]
        done.update(path)


def observed_dependencies(traces: Iterable[Sequence[Span]]) -> list[Dependency]:
    """The caller→callee edges the traces' client spans show."""
    calls: dict[tuple[str, str], list[Span]] = {}
    for spans in traces:
        for span in spans:
            if not span.is_server and span.peer_service is not None:
                calls.setdefault((span.service, span.peer_service), []).append(span)
    return [
        Dependency(
            caller=caller,
            callee=callee,
            calls=len(spans),
            errors=sum(span.failed for span in spans),
            first_seen=min(span.start for span in spans),
            last_seen=max(span.start for span in spans),
        )
        for (caller, callee), spans in calls.items()
    ]
