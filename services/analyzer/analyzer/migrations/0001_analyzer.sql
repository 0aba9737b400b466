-- What the analyzer learned and found. Every statement is idempotent, so
-- `psql -f` applies it by hand as well. A series key is (kind, service,
-- target): kind 'endpoint' with the route template as target, or kind
-- 'edge' with the callee (`peer_service`) as target.

-- One row per series key: its current baseline, so a restarted analyzer
-- judges against what it had learned instead of relearning from nothing.
CREATE TABLE IF NOT EXISTS analyzer_baselines (
    kind        text             NOT NULL CHECK (kind IN ('endpoint', 'edge')),
    service     text             NOT NULL,  -- the server, or the caller
    target      text             NOT NULL,  -- route template, or callee
    level_ms    double precision NOT NULL,  -- EWMA of the window p50 latency
    spread_ms   double precision NOT NULL,  -- EWMA standard deviation around level_ms
    rate_per_s  double precision NOT NULL,  -- EWMA of requests per second
    error_rate  double precision NOT NULL,  -- EWMA of the window error rate
    samples     bigint           NOT NULL,  -- requests in all learned windows
    windows     bigint           NOT NULL,  -- windows learned
    updated_at  timestamptz      NOT NULL,  -- end of the last learned window
    saved_at    timestamptz      NOT NULL DEFAULT now(),  -- when this row was last written
    PRIMARY KEY (kind, service, target)
);
COMMENT ON TABLE analyzer_baselines IS
    'The analyzer''s learned normal, one row per endpoint or caller->callee edge; overwritten each cycle.';

-- Every anomaly ever reported, with its explanation; append-only.
CREATE TABLE IF NOT EXISTS analyzer_anomalies (
    id               bigserial        PRIMARY KEY,
    detected_at      timestamptz      NOT NULL,  -- when the cycle that found it ran
    type             text             NOT NULL,  -- latency, error_spike, silence, timeout
    kind             text             NOT NULL CHECK (kind IN ('endpoint', 'edge')),
    service          text             NOT NULL,
    target           text             NOT NULL,
    observed         double precision NOT NULL,  -- unit per type: ms, share of requests, count
    baseline         double precision,           -- NULL when no baseline was learned yet
    threshold        double precision NOT NULL,
    window_start     timestamptz      NOT NULL,
    window_end       timestamptz      NOT NULL,
    sample_count     bigint           NOT NULL,
    score            double precision NOT NULL,  -- 0..1
    sample_trace_ids text[]           NOT NULL,  -- worst first
    explanation      text             NOT NULL
);
COMMENT ON TABLE analyzer_anomalies IS
    'Every anomaly the analyzer reported, with its explanation; newest by detected_at.';

-- "Recent first", and within one cycle in the order it was reported (by id).
CREATE INDEX IF NOT EXISTS idx_analyzer_anomalies_recent
    ON analyzer_anomalies (detected_at DESC, id);
-- One series' history, recent first.
CREATE INDEX IF NOT EXISTS idx_analyzer_anomalies_key_recent
    ON analyzer_anomalies (kind, service, target, detected_at DESC);
