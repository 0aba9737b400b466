"""The analyzer's HTTP API: one model per response body.

The analyzer declares them as its routes' return types, and `aiops` and the
chaos tools parse its answers with them. One module per router of
`analyzer.api`; import from here, as every user does.
"""

from aiops_engine.incidents import Incident  # served as is: the document Redis holds

from .anomalies import (
    BASELINES,
    AnalyzeResult,
    Anomalies,
    AnomalyRecord,
    BaselineRecord,
    CycleRun,
    CycleSkipped,
    FoundCause,
    HourState,
    SeasonState,
    Window,
)
from .dashboard import EndpointLatency, Latency, LatencyBaseline, LatencyPoint
from .health import (
    AnalyzerHealth,
    DatabaseStatus,
    HistoryBacklog,
    HousekeepingStatus,
    RedisStatus,
)
from .incidents import INCIDENTS, HistoryEntry, IncidentDetail
from .metric_series import (
    METRIC_POINTS,
    METRIC_SERIES,
    MetricPointJudged,
    MetricSeries,
    NewNormalRequested,
)
from .traces import Dependencies, DependencyEdge, Trace, TraceOrigin, TraceSpan

__all__ = [
    "BASELINES",
    "INCIDENTS",
    "METRIC_POINTS",
    "METRIC_SERIES",
    "AnalyzeResult",
    "AnalyzerHealth",
    "Anomalies",
    "AnomalyRecord",
    "BaselineRecord",
    "CycleRun",
    "CycleSkipped",
    "DatabaseStatus",
    "Dependencies",
    "DependencyEdge",
    "EndpointLatency",
    "FoundCause",
    "HistoryBacklog",
    "HistoryEntry",
    "HourState",
    "HousekeepingStatus",
    "Incident",
    "IncidentDetail",
    "Latency",
    "LatencyBaseline",
    "LatencyPoint",
    "MetricPointJudged",
    "MetricSeries",
    "NewNormalRequested",
    "RedisStatus",
    "SeasonState",
    "Trace",
    "TraceOrigin",
    "TraceSpan",
    "Window",
]
