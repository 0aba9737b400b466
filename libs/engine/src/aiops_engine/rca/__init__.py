"""Root-cause analysis: pure functions from anomalies and their traces to findings, no I/O.

The algorithm, per cycle, with `analyse(anomalies, traces, graph, slow_ms)`:

1. Correlate: anomalies whose windows end close together form a group.
2. Follow each sample trace: `build_trees` links its spans by parent id
   (never by timestamps: service clocks disagree), and `find_origins` picks
   the bad spans (failed, or slower than detection's `span_thresholds` allow) none of
   whose children is bad: trouble propagates upwards, so it starts there.
   A call that got no answer blames its callee, a bad query the database.
3. Vote: each trace votes once, split across the suspects it points at,
   counting only the origins below the anomaly's own spans. An anomaly goes
   to its most voted suspect; without traces (a silent service has none),
   to the anomalous service nothing anomalous is below in the dependency
   graph, so a caller's symptoms land on the callee that causes them.
4. One finding per suspect, so independent faults stay apart. Its suspects
   are ranked by their share of the votes, blended with the graph's when
   traces are few; the top one is the root cause, its share the confidence.
"""

from .config import RcaConfig
from .model import (
    DATABASE,
    Blame,
    Candidate,
    Dependency,
    DependencyGraph,
    Finding,
    Origin,
    Span,
    Suspect,
)
from .origins import (
    find_origins,
    is_bad,
    is_slow,
    relevant_origins,
    span_key,
)
from .ranking import analyse, correlate
from .traces import TraceNode, build_trees

__all__ = [
    "DATABASE",
    "Blame",
    "Candidate",
    "Dependency",
    "DependencyGraph",
    "Finding",
    "Origin",
    "RcaConfig",
    "Span",
    "Suspect",
    "TraceNode",
    "analyse",
    "build_trees",
    "correlate",
    "find_origins",
    "is_bad",
    "is_slow",
    "relevant_origins",
    "span_key",
]
