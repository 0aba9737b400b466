"""From anomalies and their sample traces to findings: one per root cause, suspects ranked.

Anomalies close in time are one incident's symptoms, but one incident can
hold independent faults, so a group of anomalies is split by where each
anomaly's traces say its trouble starts. Traces are the strong evidence.
Where they are missing (a silent service leaves none) or few, the
dependency graph stands in: of the anomalous services, the one nothing
anomalous is below is the likely cause, its callers the symptoms.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from aiops_engine.detection import Anomaly, AnomalyType, KeyKind, SeriesKey

from .config import RcaConfig
from .explain import RUNNER_UP, describe_evidence, explain_root
from .model import (
    Candidate,
    DependencyGraph,
    Finding,
    Origin,
    Span,
    Suspect,
)
from .origins import find_origins, relevant_origins
from .traces import TraceNode, build_trees, observed_dependencies


def correlate(anomalies: Iterable[Anomaly], window_s: float) -> list[list[Anomaly]]:
    """Anomalies grouped by time: a gap of more than `window_s` between window ends splits."""
    groups: list[list[Anomaly]] = []
    for anomaly in sorted(anomalies, key=lambda a: (a.window_end, a.key, a.type)):
        gap = (anomaly.window_end - groups[-1][-1].window_end).total_seconds() if groups else 0.0
        if not groups or gap > window_s:
            groups.append([])
        groups[-1].append(anomaly)
    return groups


def analyse(
    anomalies: Sequence[Anomaly],
    traces: Mapping[str, Sequence[Span]],
    graph: DependencyGraph,
    slow_ms: Mapping[SeriesKey, float],
    config: RcaConfig = RcaConfig(),
    *,
    typical_ms: Mapping[SeriesKey, float] | None = None,
) -> list[Finding]:
    """Findings for `anomalies`, the one with the highest-scored anomaly first.

    `traces` holds the spans of the anomalies' sample traces (those missing
    are skipped); `slow_ms` is what `span_thresholds` gives, `typical_ms`
    what `typical_latencies` gives (a span's own delay is judged with it).
    """
    # The traces show calls too, which a young graph may not have learned yet.
    below = functools.cache(graph.merge(observed_dependencies(traces.values())).downstream)
    trees: dict[str, tuple[list[TraceNode], list[Origin]]] = {}

    def explaining(anomaly: Anomaly, trace_id: str) -> list[Origin]:
        if trace_id not in trees:  # a trace sampled by several anomalies is followed once
            roots = build_trees(traces[trace_id])
            trees[trace_id] = (roots, find_origins(roots, slow_ms, typical_ms))
        roots, origins = trees[trace_id]
        return relevant_origins(origins, roots, anomaly, slow_ms)

    findings: list[Finding] = []
    for group in correlate(anomalies, config.correlation_window_s):
        evidence = [{t: explaining(a, t) for t in a.sample_trace_ids if t in traces} for a in group]
        findings.extend(_findings(group, evidence, below, config))
    return sorted(findings, key=lambda f: (-max(a.score for a in f.anomalies), f.root_cause))


def _findings(
    anomalies: list[Anomaly],
    evidence: list[dict[str, list[Origin]]],
    below: Callable[[str], frozenset[str]],
    config: RcaConfig,
) -> list[Finding]:
    """One group's findings: its anomalies split by the suspect each is attributed to."""
    votes = [_tally(trace_votes.values()) for trace_votes in evidence]
    group_votes: defaultdict[Suspect, float] = defaultdict(float)
    for anomaly_votes in votes:
        for suspect, vote in anomaly_votes.items():
            group_votes[suspect] += vote
    traced = [_top(anomaly_votes, below) if anomaly_votes else None for anomaly_votes in votes]
    # A service is anomalous if an anomaly points at it or a trace starts its trouble there.
    # Silence is left out: it spreads *down* from a cause (callers that fail
    # early stop calling what comes next), so a silent service is no suspect.
    loud = [a for a in anomalies if a.type is not AnomalyType.SILENCE]
    anomalous = {_implicated(a) for a in loud} | {s.service for s in group_votes}
    group = _Group(anomalies, evidence, dict(group_votes), frozenset(anomalous), below)

    members: dict[Suspect, list[int]] = {}
    for index, anomaly in enumerate(anomalies):
        if (voted := traced[index]) is not None:
            suspect = voted
        elif anomaly.type is AnomalyType.SILENCE:
            suspect = group.silence_cause(anomaly, group_votes)
        elif anomaly.type is AnomalyType.METRIC:  # no trace of its own
            suspect = group.traced_below(_implicated(anomaly), group_votes)
        else:
            suspect = group.suspect_for(group.lowest_below(_implicated(anomaly)))
        members.setdefault(suspect, []).append(index)
    # Blended graph votes can make a finding's top candidate another finding's
    # root, and a stopped service fails on every endpoint at once: merge until
    # every root names its own service (the count shrinks each time), or one
    # incident would flip between two endpoints of one cause every window.
    while True:
        built = [group.finding(indices, suspect, config) for suspect, indices in members.items()]
        merged: dict[str, tuple[Suspect, list[int]]] = {}
        for finding, indices in zip(built, members.values(), strict=True):
            root = finding.root_cause
            merged.setdefault(root.service, (root, []))[1].extend(indices)
        if len(merged) == len(members):
            return built
        members = dict(merged.values())


@dataclass(frozen=True, slots=True)
class _Group:
    """What one group of correlated anomalies knows, to attribute and rank with."""

    anomalies: list[Anomaly]
    evidence: list[dict[str, list[Origin]]]  # per anomaly: its relevant origins per trace
    votes: dict[Suspect, float]  # every trace vote in the group
    anomalous: frozenset[str]  # services the group implicates
    below: Callable[[str], frozenset[str]]  # everything a service depends on

    def is_lowest(self, service: str) -> bool:
        """Nothing anomalous is below `service`."""
        return not (self.below(service) & self.anomalous) - {service}

    def lowest_below(self, service: str) -> str:
        """The anomalous service deepest below `service`, or `service` when none is."""
        deeper = (self.below(service) & self.anomalous) - {service}
        if not deeper:
            return service
        return min([s for s in deeper if self.is_lowest(s)] or deeper)

    def silence_cause(self, anomaly: Anomaly, votes: Mapping[Suspect, float]) -> Suspect:
        """Where a silence comes from: the group's traced problem, if it has one.

        Otherwise traffic stopped upstream: the silent service that no other
        silent service calls (the entry point that went quiet). A silent edge
        is its caller's silence: the caller stopped calling, not the callee.
        """
        if votes:
            return _top(votes, self.below)
        silent = {a.key.service for a in self.anomalies if a.type is AnomalyType.SILENCE}
        service = anomaly.key.service
        above = [s for s in silent if s != service and service in self.below(s)]
        tops = [s for s in above if not any(s in self.below(t) for t in silent - {s})]
        return self.suspect_for(min(tops or above or [service]))

    def traced_below(self, service: str, votes: Mapping[Suspect, float]) -> Suspect:
        """A traceless anomaly's cause: the most voted suspect at or below `service` (a
        conversion drop on checkout goes where most failing checkouts' traces fail, not to a
        query one or two of them found slow further down), else the lowest anomalous one."""
        own = {s: v for s, v in votes.items() if s.service in self.below(service) | {service}}
        return _top(own, self.below) if own else self.suspect_for(self.lowest_below(service))

    def suspect_for(self, service: str) -> Suspect:
        """The suspect naming a service picked by the graph: its traced one if any."""
        voted = [suspect for suspect in self.votes if suspect.service == service]
        if voted:
            return min(voted, key=lambda s: (-self.votes[s], s))
        endpoints = {
            a.key.target
            for a in self.anomalies
            if a.key.kind is KeyKind.ENDPOINT and a.key.service == service
        }
        return Suspect(service, endpoints.pop() if len(endpoints) == 1 else None)

    def finding(self, indices: list[int], attributed: Suspect, config: RcaConfig) -> Finding:
        """The finding for the anomalies at `indices`, attributed to `attributed`."""
        indices = sorted(indices, key=lambda i: _by_score(self.anomalies[i]))
        per_trace: dict[str, list[Origin]] = {}
        for index in indices:
            for trace_id, origins in self.evidence[index].items():
                per_trace.setdefault(trace_id, []).extend(origins)
        followed = {trace_id: origins for trace_id, origins in per_trace.items() if origins}
        votes = _tally(followed.values())

        # Few traces: every service the finding implicates (by anomaly or by
        # trace) with nothing anomalous below it gets the weight of one trace.
        graph_voted: dict[Suspect, bool] = {}  # suspect -> whether nothing anomalous is below it
        if len(followed) < config.min_traces:
            services = {
                _implicated(self.anomalies[i])
                for i in indices
                if self.anomalies[i].type is not AnomalyType.SILENCE
            }
            services |= {suspect.service for suspect in votes} | {attributed.service}
            lowest = sorted(s for s in services if self.is_lowest(s))
            for service in lowest or [attributed.service]:
                suspect = self.suspect_for(service)
                votes[suspect] += 1.0
                graph_voted[suspect] = bool(lowest)

        pointing: defaultdict[Suspect, list[str]] = defaultdict(list)
        for trace_id, origins in followed.items():
            for suspect in dict.fromkeys(o.suspect for o in origins):
                pointing[suspect].append(trace_id)
        total = sum(votes.values())
        candidates = sorted(
            (
                Candidate(
                    suspect,
                    vote / total,
                    len(pointing[suspect]),
                    describe_evidence(
                        suspect, followed, pointing[suspect], graph_voted.get(suspect)
                    ),
                )
                for suspect, vote in votes.items()
            ),
            key=lambda c: (-round(c.score, 9), -c.traces, c.suspect),
        )
        candidates += self.runners_up(indices, {c.suspect.service for c in candidates}, config)
        root = candidates[0]
        first = pointing[root.suspect]
        trace_ids = first + [t for t in per_trace if t not in first]
        return Finding(
            root_cause=root.suspect,
            candidates=tuple(candidates),
            confidence=root.score,
            anomalies=tuple(self.anomalies[i] for i in indices),
            trace_ids=tuple(trace_ids[: config.max_trace_ids]),
            explanation=explain_root(root, followed, graph_voted.get(root.suspect)),
        )

    def runners_up(self, indices: list[int], named: set[str], config: RcaConfig) -> list[Candidate]:
        """Services the finding's own anomalies implicate that no trace or graph vote named.

        Two faults at once can hide one behind the other in every trace (a
        CPU-bound caller of a database that is slower still), so a service
        that is anomalous in its own right stays on the list, below the voted
        ones with no share of the evidence: the place to look next. The
        lowest first (a symptom's cause is more likely below it), then by score.
        """
        implicated = dict.fromkeys(  # already by score, highest first; each service once
            _implicated(self.anomalies[i])
            for i in indices
            if self.anomalies[i].type is not AnomalyType.SILENCE
        )
        extra = sorted((s for s in implicated if s not in named), key=self.is_lowest, reverse=True)
        extra = extra[: max(config.max_candidates - len(named), 0)]
        return [Candidate(self.suspect_for(s), 0.0, 0, RUNNER_UP) for s in extra]


def _tally(per_trace: Iterable[Sequence[Origin]]) -> defaultdict[Suspect, float]:
    """Each trace's one vote, split evenly across the distinct suspects it points at."""
    votes: defaultdict[Suspect, float] = defaultdict(float)
    for origins in per_trace:
        suspects = {o.suspect for o in origins}
        for suspect in suspects:
            votes[suspect] += 1.0 / len(suspects)
    return votes


def _top(votes: Mapping[Suspect, float], below: Callable[[str], frozenset[str]]) -> Suspect:
    """The most voted suspect; on a tie the one the others depend on, then the first."""
    best = max(votes.values())
    tied = [s for s, vote in votes.items() if math.isclose(vote, best)]
    lowest = [
        s
        for s in tied
        if not any(o.service != s.service and o.service in below(s.service) for o in tied)
    ]
    return min(lowest or tied)


def _implicated(anomaly: Anomaly) -> str:
    """The service an anomaly points at: an endpoint's server, an edge's callee."""
    return anomaly.key.target if anomaly.key.kind is KeyKind.EDGE else anomaly.key.service


def _by_score(anomaly: Anomaly) -> tuple[float, datetime, SeriesKey, str]:
    return (-anomaly.score, anomaly.window_end, anomaly.key, anomaly.type)
