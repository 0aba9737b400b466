"""`make bench`: overhead of the telemetry library, as ratios against baselines of the same run.

Run it as `python -m bench` from the repository root. Sections:

A. middleware overhead (bare vs instrumented vs BaseHTTPMiddleware app, plus
   a second bare app as an A/A control that shows the run's noise floor),
B. ingest (raw asyncpg COPY vs `TelemetrySink`),
C. hop cost (direct callee vs an instrumented caller, per HTTP transport),
D. end-to-end checkout throughput vs direct payment,
E. checkout memory under a sustained load.

Settings (environment): BENCH_DURATION (s per wrk run, 5), BENCH_ROUNDS (5),
BENCH_SOAK_SECONDS (60), BENCH_WARMUP (1), BENCH_CONNECTIONS (32),
BENCH_INGEST_ROWS (200000), BENCH_INGEST_BATCH (10000), BENCH_ONLY (e.g. "A,C").
Quick smoke: `BENCH_DURATION=2 BENCH_ROUNDS=1 BENCH_SOAK_SECONDS=5`.

Results go to stdout and `bench/results/latest.json`. Goals are reported, never
asserted; the exit status is 1 only when a check failed (spans lost, non-2xx
answers) or a section crashed, 2 when a tool is missing.
Nothing runs at import; see `bench.cli.main`.
"""
