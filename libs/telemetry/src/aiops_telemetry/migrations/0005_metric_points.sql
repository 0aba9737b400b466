-- OTLP metrics (issue 20): one row per value a receiver took, in day
-- partitions of "time" exactly like telemetry (0004's functions), so the
-- analyzer creates them ahead and drops them past AIOPS_METRICS_RETENTION
-- whole, and rolls them up per minute (metric_minutes, analyzer migration 0010).
--
-- What a row holds depends on `kind` (docs/otlp.md#metrics):
--   gauge, rate, count, mean, p50, p95  the value as the analyzer reads it;
--   cumulative                          a monotonic counter's running total since start_time;
--   histogram                           a cumulative histogram's running count (value), sum
--                                       and bucket counts since start_time.
-- The last two become rates and per-interval histogram values when read
-- (analyzer.store.metric_points), by differences between consecutive points:
-- no receiver has to remember the previous one, so any number of them may run.
-- Idempotent, like every migration here.
CREATE TABLE IF NOT EXISTS metric_points (
    "time"        timestamptz      NOT NULL,  -- the point's time: the end of its interval
    series        text             NOT NULL,  -- service:name[.kind]{attributes} (docs/otlp.md)
    service       text             NOT NULL,  -- resource service.name, or unknown_service
    name          text             NOT NULL,  -- the metric's name
    kind          text             NOT NULL CHECK (kind IN (
        'gauge', 'rate', 'count', 'mean', 'p50', 'p95', 'cumulative', 'histogram'
    )),
    value         double precision NOT NULL CHECK (value > '-Infinity' AND value < 'Infinity'),
    unit          text             NOT NULL DEFAULT '',
    attributes    jsonb,                      -- the data point's attributes
    start_time    timestamptz,                -- cumulative, histogram: counted since (NULL: unknown)
    sum           double precision,           -- histogram: running sum (NULL: not sent)
    bounds        double precision[],         -- histogram: the explicit bucket bounds
    bucket_counts double precision[]          -- histogram: running count per bucket
) PARTITION BY RANGE ("time");
COMMENT ON TABLE metric_points IS
    'OTLP metric points by series (service:name[.kind]{attributes}): gauge, rate, count, mean, '
    'p50, p95 values, and running totals (kind cumulative, histogram) that the analyzer turns '
    'into rates and per-interval values; day partitions, kept AIOPS_METRICS_RETENTION.';

-- A series' points in time order (the rates' differences), and window scans.
CREATE INDEX IF NOT EXISTS idx_metric_points_series_time ON metric_points (series, "time");
CREATE INDEX IF NOT EXISTS idx_metric_points_time_brin ON metric_points USING brin ("time")
    WITH (autosummarize = on);
CREATE TABLE IF NOT EXISTS metric_points_default PARTITION OF metric_points DEFAULT;

-- Today and the next two days; the analyzer keeps them coming.
SELECT aiops_add_partitions('metric_points', interval '1 day', interval '2 days');
