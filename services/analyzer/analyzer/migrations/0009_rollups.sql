-- Per-minute rollups of telemetry (issue 17): one row per minute and series
-- key, written once each minute is complete (analyzer/rollups.py), kept for
-- AIOPS_ROLLUP_RETENTION (90 days) in day partitions that retention drops
-- whole. Long ranges (Grafana beyond six hours, the dashboard's /latency)
-- read these instead of raw spans. Idempotent, like every migration here.
CREATE TABLE IF NOT EXISTS telemetry_minutes (
    minute         timestamptz      NOT NULL,  -- the minute's start (UTC)
    kind           text             NOT NULL CHECK (kind IN ('endpoint', 'edge')),
    service        text             NOT NULL,  -- the server, or the caller
    target         text             NOT NULL,  -- route template, or callee
    requests       bigint           NOT NULL,
    errors         bigint           NOT NULL,  -- failed spans, as the analyzer counts them
    timeouts       bigint           NOT NULL,
    latency_sum_ms double precision NOT NULL,  -- mean = latency_sum_ms / requests
    latency_max_ms double precision NOT NULL,
    p50_ms         double precision NOT NULL,
    p95_ms         double precision NOT NULL,
    p99_ms         double precision NOT NULL,
    PRIMARY KEY (minute, kind, service, target)
) PARTITION BY RANGE (minute);
COMMENT ON TABLE telemetry_minutes IS
    'Per minute and series key (endpoint, or caller->callee edge): requests, errors, '
    'timeouts, latency sum/max and p50/p95/p99 in ms; kept AIOPS_ROLLUP_RETENTION (90 days).';
CREATE TABLE IF NOT EXISTS telemetry_minutes_default PARTITION OF telemetry_minutes DEFAULT;
SELECT aiops_add_partitions('telemetry_minutes', interval '1 day', interval '2 days');

-- How far the rollups have been written: every minute before `through` is done.
CREATE TABLE IF NOT EXISTS telemetry_rollup_progress (
    singleton boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    through   timestamptz NOT NULL,
    saved_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE telemetry_rollup_progress IS
    'Minutes before `through` are rolled up into telemetry_minutes; later ones are read raw.';

-- Per minute, service and endpoint: the rollups, then the minutes not rolled
-- up yet straight from telemetry, so the view is both long and current.
-- Filter on `minute` (the rollups' key); the raw part is a few minutes only.
CREATE OR REPLACE VIEW endpoint_stats_minute AS
SELECT
    minute,
    service,
    target                                                   AS endpoint,
    requests,
    errors,
    round(errors::numeric / requests, 4)                     AS error_rate,
    round(p50_ms::numeric, 1)                                AS p50_ms,
    round(p95_ms::numeric, 1)                                AS p95_ms,
    round(p99_ms::numeric, 1)                                AS p99_ms
FROM telemetry_minutes
WHERE kind = 'endpoint'
UNION ALL
SELECT
    date_trunc('minute', "timestamp"),
    service_name,
    endpoint,
    count(*),
    count(*) FILTER (WHERE failed),
    round((count(*) FILTER (WHERE failed))::numeric / count(*), 4),
    round((percentile_cont(0.50) WITHIN GROUP (ORDER BY latency_ms))::numeric, 1),
    round((percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms))::numeric, 1),
    round((percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms))::numeric, 1)
FROM telemetry
-- A failed request as the analyzer counts it (analyzer.storage.SPAN_FAILED_SQL).
CROSS JOIN LATERAL (
    SELECT coalesce(status_code >= 500, false) OR coalesce(error_kind <> 'cancelled', false)
) AS f (failed)
WHERE kind = 'server'
    AND "timestamp" >= (
        SELECT coalesce(max(through), now() - interval '24 hours') FROM telemetry_rollup_progress
    )
GROUP BY 1, 2, 3;
COMMENT ON VIEW endpoint_stats_minute IS
    'Per minute, service and endpoint (server spans), for as long as rollups are kept: '
    'requests, errors (failed: a 5xx or a recorded failure), error_rate, p50/p95/p99 latency '
    'in ms. Filter on minute.';

-- Per hour, from the minutes, over [since, until): a function rather than a
-- view, so the range reaches the rollups' partitions and prunes them. An
-- hour's percentiles cannot be rebuilt from its minutes' exactly: p50 is the
-- request-weighted mean of the minutes' medians, p95/p99 the worst minute's;
-- the mean is exact. Rolled-up minutes only (up to two minutes ago); hours are UTC: SELECT * FROM endpoint_stats_hourly(now() - interval '30 days');
CREATE OR REPLACE FUNCTION endpoint_stats_hourly(since timestamptz, until timestamptz DEFAULT now())
RETURNS TABLE (
    hour                timestamptz,
    service             text,
    endpoint            text,
    requests            bigint,
    errors              bigint,
    error_rate          numeric,
    mean_ms             numeric,
    p50_ms              numeric,
    worst_minute_p95_ms numeric,
    worst_minute_p99_ms numeric
)
LANGUAGE sql STABLE
AS $$
SELECT
    date_bin('1 hour', m.minute, TIMESTAMPTZ '2000-01-01 UTC'),
    m.service,
    m.target,
    sum(m.requests)::bigint,
    sum(m.errors)::bigint,
    round(sum(m.errors)::numeric / sum(m.requests), 4),
    round((sum(m.latency_sum_ms) / sum(m.requests))::numeric, 1),
    round((sum(m.p50_ms * m.requests) / sum(m.requests))::numeric, 1),
    round(max(m.p95_ms)::numeric, 1),
    round(max(m.p99_ms)::numeric, 1)
FROM telemetry_minutes AS m
WHERE m.kind = 'endpoint' AND m.minute >= since AND m.minute < until
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
$$;
COMMENT ON FUNCTION endpoint_stats_hourly(timestamptz, timestamptz) IS
    'Per UTC hour, service and endpoint from the rollups: requests, errors, error_rate, mean, '
    'request-weighted p50 and the worst minute''s p95/p99 (ms). '
    'SELECT * FROM endpoint_stats_hourly(now() - interval ''30 days'');';

-- A trace's spans also after retention dropped its day (the evidence copy).
CREATE OR REPLACE FUNCTION trace_tree(trace_id text)
RETURNS TABLE (
    depth      integer,
    at         timestamptz,
    service    text,
    kind       text,
    endpoint   text,
    status     integer,
    latency_ms double precision,
    span_id    text,
    tree       text
)
LANGUAGE sql STABLE
AS $$
WITH RECURSIVE spans AS (
    SELECT * FROM telemetry_all AS t WHERE t.trace_id = trace_tree.trace_id
),
walk AS (
    SELECT s.*, 0 AS depth
    FROM spans AS s
    WHERE s.parent_span_id IS NULL
       OR NOT EXISTS (SELECT 1 FROM spans AS p WHERE p.span_id = s.parent_span_id)
    UNION ALL
    SELECT c.*, w.depth + 1
    FROM walk AS w
    JOIN spans AS c ON c.parent_span_id = w.span_id
) SEARCH DEPTH FIRST BY "timestamp", span_id SET path
  CYCLE span_id SET looped USING visited
SELECT
    w.depth,
    w."timestamp",
    w.service_name,
    w.kind,
    w.endpoint,
    w.status_code,
    w.latency_ms,
    w.span_id,
    repeat('  ', w.depth)
        || CASE WHEN w.kind = 'client'
                THEN w.service_name || ' → ' || coalesce(w.peer_service, '?')
                ELSE w.service_name END
        || ' ' || w.method || ' ' || w.endpoint
FROM walk AS w
WHERE NOT w.looped
ORDER BY w.path
$$;
