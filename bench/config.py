"""What one run measures and for how long, from `BENCH_*` variables, and the tools it needs."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.local_postgres import find_bindir

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "bench" / "results"

SECTIONS = {
    "A": "middleware overhead",
    "B": "ingest",
    "C": "hop cost",
    "D": "checkout throughput",
    "E": "checkout memory",
    "F": "analyzer cycle cost vs history",
    "G": "detection targets",
    "H": "OTLP ingest",
    "I": "replay speed",
    "J": "sustained ingest",
    "K": "analyzer cycle time vs keys",
    "L": "30 simulated days",
    "M": "partition span",
    "N": "analyzer cycle time vs metric series",
}


class ConfigError(Exception):
    """A setting or a tool is missing; the message says what to do."""


@dataclass(frozen=True, slots=True)
class Config:
    duration: int  # seconds of each measured wrk run
    rounds: int  # interleaved repetitions; the median of each variant is reported
    soak_seconds: int  # length of the sustained load of section E
    warmup: int  # seconds of load each server gets before its first measured run
    connections: int  # wrk -c
    ingest_rows: int
    ingest_batch: int
    history_rows: int  # telemetry rows behind the analyzer's windows in section F
    quiet_seconds: int  # normal traffic before section G's faults (includes baseline learning)
    sustained_sinks: int  # J: producer processes, one TelemetrySink each
    sustained_start: int  # J: spans/s asked of the first step, doubled each step ...
    sustained_max: int  # ... up to this
    sustained_seconds: int  # J: length of each step
    cycle_keys: tuple[int, ...]  # K: key counts to time the analyzer cycle at
    cycle_rounds: int  # K, N: measured cycles per size, after the warm-up
    month_days: int  # L: simulated days
    month_rate: float  # L: checkouts per second (six spans each)
    span_rate: float  # M: checkouts per second over the 7 days partitioned both ways
    metric_series: tuple[int, ...]  # N: metric series to time the analyzer cycle at
    sections: tuple[str, ...]

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Config:
        only = env.get("BENCH_ONLY", "").replace(",", " ").upper().split()
        unknown = sorted(set(only) - SECTIONS.keys())
        if unknown:
            raise ConfigError(
                f"BENCH_ONLY: unknown sections {unknown}; choose from {sorted(SECTIONS)}"
            )
        return cls(
            duration=_positive_int(env, "BENCH_DURATION", 5),
            # 5, not 3: on a shared 2-core VM one run of the same app varies by +-20%.
            rounds=_positive_int(env, "BENCH_ROUNDS", 5),
            soak_seconds=_positive_int(env, "BENCH_SOAK_SECONDS", 60),
            warmup=_positive_int(env, "BENCH_WARMUP", 1),
            connections=_positive_int(env, "BENCH_CONNECTIONS", 32),
            ingest_rows=_positive_int(env, "BENCH_INGEST_ROWS", 200_000),
            ingest_batch=_positive_int(env, "BENCH_INGEST_BATCH", 10_000),
            history_rows=_positive_int(env, "BENCH_HISTORY_ROWS", 10_000_000),
            # 90, not less: baselines need 10 windows of 5 s before latency is judged.
            quiet_seconds=_positive_int(env, "BENCH_QUIET_SECONDS", 90),
            sustained_sinks=_positive_int(env, "BENCH_SUSTAINED_SINKS", 3),
            sustained_start=_positive_int(env, "BENCH_SUSTAINED_START", 10_000),
            sustained_max=_positive_int(env, "BENCH_SUSTAINED_MAX", 320_000),
            sustained_seconds=_positive_int(env, "BENCH_SUSTAINED_SECONDS", 10),
            cycle_keys=_sizes(env, "BENCH_CYCLE_KEYS", (1_000, 3_000, 10_000), step=5),
            cycle_rounds=_positive_int(env, "BENCH_CYCLE_ROUNDS", 10),
            month_days=_positive_int(env, "BENCH_MONTH_DAYS", 30),
            month_rate=float(_positive_int(env, "BENCH_MONTH_RATE", 10)),
            span_rate=float(_positive_int(env, "BENCH_SPAN_RATE", 2)),
            metric_series=_sizes(env, "BENCH_METRIC_SERIES", (1_000, 10_000), step=1),
            sections=tuple(s for s in SECTIONS if not only or s in only),
        )

    @property
    def wrk_label(self) -> str:
        return f"wrk -t1 -c{self.connections} -d{self.duration}s"

    def as_json(self) -> dict[str, object]:
        return {
            "duration_s": self.duration,
            "rounds": self.rounds,
            "soak_s": self.soak_seconds,
            "warmup_s": self.warmup,
            "connections": self.connections,
            "ingest_rows": self.ingest_rows,
            "ingest_batch": self.ingest_batch,
            "history_rows": self.history_rows,
            "quiet_seconds": self.quiet_seconds,
            "sustained_sinks": self.sustained_sinks,
            "sustained_start": self.sustained_start,
            "sustained_max": self.sustained_max,
            "sustained_seconds": self.sustained_seconds,
            "cycle_keys": list(self.cycle_keys),
            "cycle_rounds": self.cycle_rounds,
            "month_days": self.month_days,
            "month_rate": self.month_rate,
            "span_rate": self.span_rate,
            "metric_series": list(self.metric_series),
            "sections": list(self.sections),
        }


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        # wrk only takes whole seconds, so "2.5" is refused rather than silently rounded.
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}")
    return value


def _sizes(
    env: Mapping[str, str], name: str, default: tuple[int, ...], *, step: int
) -> tuple[int, ...]:
    """`1000,3000,10000`: ascending, each at least 10 and a multiple of `step` (section K: a
    whole number of 5-key services)."""
    raw = env.get(name, "").replace(",", " ").split()
    if not raw:
        return default
    try:
        values = tuple(sorted({int(value) for value in raw}))
    except ValueError:
        raise ConfigError(f"{name} must be whole numbers, e.g. 1000,10000; got {raw}") from None
    if any(value < 10 or value % step for value in values):
        raise ConfigError(
            f"{name}: each count must be a multiple of {step}, at least 10; got {values}"
        )
    return values


def find_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise ConfigError(
            "wrk (the HTTP load generator) was not found on PATH. "
            "Install it: `apt-get install wrk` (macOS: `brew install wrk`)."
        )
    return wrk


def check_postgres() -> Path:
    try:
        return find_bindir()
    except RuntimeError as exc:  # its message already names the package to install
        raise ConfigError(str(exc)) from None


def check_platform() -> None:
    if not Path("/proc/self/status").exists():
        raise ConfigError(
            "section E reads VmRSS from /proc/<pid>/status: run the benchmark on Linux"
        )
