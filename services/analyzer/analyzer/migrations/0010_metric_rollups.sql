-- Per-minute rollups of OTLP metrics (issue 20), as telemetry_minutes are of
-- spans (0009): one row per minute and series, written once the minute is
-- complete (analyzer/store/metric_points.py) from the values the analyzer
-- reads (rates and per-interval histogram values already derived), kept
-- AIOPS_ROLLUP_RETENTION (90 days) in day partitions that retention drops
-- whole. Idempotent, like every migration here.
CREATE TABLE IF NOT EXISTS metric_minutes (
    minute    timestamptz      NOT NULL,  -- the minute's start (UTC)
    series    text             NOT NULL,  -- as in metric_points, with its kind: service:name[.kind]{...}
    service   text             NOT NULL,
    name      text             NOT NULL,  -- the metric's name
    kind      text             NOT NULL,  -- gauge, rate, count, mean, p50 or p95
    points    bigint           NOT NULL,  -- values in the minute
    value_sum double precision NOT NULL,  -- mean = value_sum / points
    value_min double precision NOT NULL,
    value_max double precision NOT NULL,
    PRIMARY KEY (minute, series)
) PARTITION BY RANGE (minute);
COMMENT ON TABLE metric_minutes IS
    'Per minute and metric series: points, sum, min and max of its values (rates and '
    'histogram count/mean/p50/p95 as the analyzer reads them); kept AIOPS_ROLLUP_RETENTION.';
CREATE TABLE IF NOT EXISTS metric_minutes_default PARTITION OF metric_minutes DEFAULT;
SELECT aiops_add_partitions('metric_minutes', interval '1 day', interval '2 days');

-- How far the metric rollups have been written: every minute before `through` is done.
CREATE TABLE IF NOT EXISTS metric_rollup_progress (
    singleton boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    through   timestamptz NOT NULL,
    saved_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE metric_rollup_progress IS
    'Minutes before `through` are rolled up into metric_minutes.';

-- Per hour, from the minutes, over [since, until): exact mean, min and max.
-- SELECT * FROM metric_stats_hourly(now() - interval '7 days') WHERE series LIKE 'checkout:%';
CREATE OR REPLACE FUNCTION metric_stats_hourly(since timestamptz, until timestamptz DEFAULT now())
RETURNS TABLE (
    hour    timestamptz,
    series  text,
    service text,
    name    text,
    kind    text,
    points  bigint,
    mean    double precision,
    min     double precision,
    max     double precision
)
LANGUAGE sql STABLE
AS $$
SELECT
    date_bin('1 hour', m.minute, TIMESTAMPTZ '2000-01-01 UTC'),
    m.series,
    min(m.service),
    min(m.name),
    min(m.kind),
    sum(m.points)::bigint,
    sum(m.value_sum) / sum(m.points),
    min(m.value_min),
    max(m.value_max)
FROM metric_minutes AS m
WHERE m.minute >= since AND m.minute < until
GROUP BY 1, 2
ORDER BY 2, 1
$$;
COMMENT ON FUNCTION metric_stats_hourly(timestamptz, timestamptz) IS
    'Per UTC hour and metric series from the rollups: points, mean, min, max. '
    'SELECT * FROM metric_stats_hourly(now() - interval ''7 days'');';
