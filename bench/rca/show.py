"""`--show ID`: one case in-process, window by window, to see why it was missed.

Prints the truth, then each window that had anomalies or incident events
(the anomalies with observed / threshold, the findings' root causes and
candidates, the incident events), and during a fault's window the faulty
service's own keys even when nothing fired (their p50, error rate and
requests against the levels the growth ranker learned), then the scores.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TextIO

from aiops_engine.replay import Fault, WindowResult, score

from .corpus import Item
from .rankers import Observer, blamed
from .results import GRACE_S
from .run import Replayed, engine_ranking, false_incidents, fault_of, replay_scenario, scenario_of
from .seasonal import classify

GRACE = timedelta(seconds=GRACE_S)


class Printer:
    """Writes what one replay said, with times relative to the first fault's start."""

    def __init__(self, faults: list[Fault], origin: datetime, out: TextIO) -> None:
        self.faults, self.origin, self.out = faults, origin, out

    def say(self, text: str) -> None:
        print(text, file=self.out)

    def when(self, at: datetime) -> str:
        return f"t{(at - self.origin).total_seconds():+.0f}s"

    def window(self, result: WindowResult, observer: Observer) -> None:
        live = [f for f in self.faults if f.start <= result.now <= f.end + GRACE]
        if not (result.anomalies or result.events or live):
            return
        where = " (in a fault window)" if live else ""
        self.say(f"[{self.when(result.start)} .. {self.when(result.end)}]{where}")
        for a in result.anomalies:
            base = "-" if a.baseline is None else f"{a.baseline:.3g}"
            self.say(
                f"  anomaly {a.type} {a.key}: observed {a.observed:.3g} / threshold "
                f"{a.threshold:.3g} (baseline {base}, n={a.sample_count}, score {a.score:.2f})"
            )
            self.say(f"    {a.explanation}")
        for finding in result.findings:
            ranked = ", ".join(f"{c.suspect} {c.score:.2f}" for c in finding.candidates)
            self.say(
                f"  finding: root {finding.root_cause} ({finding.confidence:.0%}), "
                f"{finding.explanation}; candidates {ranked}"
            )
        for event in result.events:
            incident = event.incident
            names = ", ".join(c.service for c in incident.candidates) or "-"
            self.say(
                f"  {event.kind} {incident.id}: root {incident.root_cause}; "
                f"candidates {names}; {event.detail}"
            )
        for fault in live:
            self.truth_keys(result, fault, observer)

    def truth_keys(self, result: WindowResult, fault: Fault, observer: Observer) -> None:
        """The faulty service's keys (its endpoints, the edges into it) in this window."""
        parts = []
        for w in result.windows:
            if blamed(w.key) != fault.service:
                continue
            level = observer.levels.get(w.key)
            usual = "" if level is None else f", usual {level.p50_ms:.0f} ms {level.error_rate:.0%}"
            counted = "" if w.far_count is None else f" slow {w.slow_count} far {w.far_count}"
            parts.append(
                f"{w.key} p50 {w.p50_ms:.0f} p95 {w.p95_ms:.0f} ms err {w.error_rate:.0%} "
                f"n={w.count}{counted}{usual}"
            )
        self.say(f"  truth {fault.service}: " + ("; ".join(parts) or "no spans at all"))

    def scores(self, replayed: Replayed) -> None:
        card = score(self.faults, replayed.touches, duration_s=0, grace_s=GRACE_S)
        edges = list(replayed.replay.state.graph.edges)
        for scored in card.per_fault:
            f, end = scored.fault, scored.fault.end + GRACE
            ttd = "not detected" if scored.ttd_s is None else f"TTD {scored.ttd_s:.1f} s"
            self.say(f"fault {f.kind} on {f.service}: {ttd}, engine rank {scored.rank or '-'}")
            self.say(f"  engine named: {', '.join(engine_ranking(f, replayed.touches)) or '-'}")
            growth = replayed.observer.by_growth(f.start, end)[:5]
            self.say(f"  latency growth: {', '.join(growth) or '-'}")
            pagerank = replayed.observer.by_pagerank(f.start, end, edges)[:5]
            self.say(f"  PageRank: {', '.join(pagerank) or '-'}")
        self.say(f"false incidents: {card.false_incidents}")
        for t in replayed.touches:
            if t.opened and not any(f.start <= t.at <= f.end + GRACE for f in self.faults):
                self.say(
                    f"  {self.when(t.at)} {t.incident.id} root {t.incident.root_cause}: "
                    f"{t.incident.explanation}"
                )


def show(item: Item, out: TextIO) -> None:
    scenario = scenario_of(item)
    faults = [fault_of(entry) for entry in scenario.truth()]
    printer = Printer(faults, min((f.start for f in faults), default=scenario.start), out)
    printer.say(
        f"{item.id}: {item.topology}, {len(scenario.services())} services, seed {item.seed}, "
        f"{scenario.duration_s:.0f} s simulated; t is relative to the first fault's start"
    )
    for injected in scenario.faults:
        printer.say(
            f"  truth: {injected.truth()}, share {injected.share}, ramp {injected.ramp_s} s, "
            f"magnitude {injected.magnitude}"
        )
    for spell in scenario.routine:
        printer.say(f"  routine (no fault): {spell.truth()}, magnitude {spell.magnitude}")
    replayed = replay_scenario(scenario, printer.window)
    printer.scores(replayed)
    if scenario.routine:
        spells = [(spell.start, spell.end) for spell in scenario.routine]
        split = classify(false_incidents(faults, replayed.touches), spells)
        printer.say(f"routine incidents by day: {' '.join(str(n) for n in split.by_day)}")
        printer.say(f"other false incidents: {len(split.other)}")
