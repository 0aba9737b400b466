"""The sentences a finding carries: why each suspect is ranked, and why the root cause."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from .model import Blame, Candidate, Origin, Suspect

# Stronger first: what a trace says about a suspect it blames several ways.
_BLAME_ORDER = (Blame.NO_ANSWER, Blame.FAILED, Blame.DATABASE, Blame.SLOW)
_PHRASES = {
    Blame.FAILED: "failed first in {k}/{n} {traces}",
    Blame.SLOW: "was slow first in {k}/{n} {traces}",
    Blame.NO_ANSWER: "did not answer in {k}/{n} {traces}",
    Blame.DATABASE: "its queries failed or were slow in {k}/{n} {traces}",
}
_LOWEST = "anomalous, and nothing it depends on is"
_NOT_LOWEST = "anomalous, as is what it depends on"
RUNNER_UP = "anomalous itself, though no trace starts its trouble here"


def describe_evidence(
    suspect: Suspect,
    followed: Mapping[str, Sequence[Origin]],  # trace id -> its origins that count
    trace_ids: Sequence[str],  # the traces pointing at `suspect`
    graph: bool | None,  # the graph's vote: None if none, else whether nothing is anomalous below
) -> str:
    """One sentence on why a suspect is ranked: how its traces blame it, and the graph's vote."""
    blames: Counter[Blame] = Counter()
    kinds: set[str] = set()
    for trace_id in trace_ids:
        mine = [o for o in followed[trace_id] if o.suspect == suspect]
        blames[min((o.blame for o in mine), key=_BLAME_ORDER.index)] += 1
        for origin in mine:
            if origin.blame is Blame.NO_ANSWER and origin.span.error_kind is not None:
                kinds.add(origin.span.error_kind)
    n = len(followed)
    parts = []
    for blame, k in sorted(blames.items(), key=lambda bk: (-bk[1], _BLAME_ORDER.index(bk[0]))):
        phrase = _PHRASES[blame].format(k=k, n=n, traces="trace" if n == 1 else "traces")
        if blame is Blame.NO_ANSWER and kinds:
            phrase += f" ({', '.join(sorted(kinds))})"
        parts.append(phrase)
    sentence = ", ".join(parts)
    if graph is not None:
        sentence += ("; " if sentence else "") + (_LOWEST if graph else _NOT_LOWEST)
    return sentence


def explain_root(
    root: Candidate, followed: Mapping[str, Sequence[Origin]], lowest: bool | None
) -> str:
    if root.traces:  # "payment /payment failed first in ...", "postgres: its queries ..."
        mine = [o for origins in followed.values() for o in origins if o.suspect == root.suspect]
        database = all(o.blame is Blame.DATABASE for o in mine)
        return f"{root.suspect}{':' if database else ''} {root.evidence}"
    on_graph = "anomalous and nothing it calls is" if lowest else _NOT_LOWEST
    if not followed:
        return f"no traces to follow: {root.suspect} is {on_graph}"
    return f"{root.suspect} is {on_graph}; the {len(followed)} traces followed point elsewhere"
