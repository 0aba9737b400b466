-- Metric series watched by the analyzer (issue 20): OTLP metric points and the
-- business metrics it computes from checkout's spans, each judged point by
-- point against its own learned normal (aiops_engine.metrics). Idempotent,
-- like every migration here.

-- A metric anomaly is stored like any other, under kind 'metric' (its target
-- is the series). NOT VALID: the rows already there passed the stricter check.
ALTER TABLE analyzer_anomalies DROP CONSTRAINT IF EXISTS analyzer_anomalies_kind_check;
ALTER TABLE analyzer_anomalies ADD CONSTRAINT analyzer_anomalies_kind_check
    CHECK (kind IN ('endpoint', 'edge', 'metric')) NOT VALID;

-- One row per series: what normal looks like for it (MetricState as JSON, its
-- season apart in analyzer_metric_hours), rewritten when a cycle changes it.
CREATE TABLE IF NOT EXISTS analyzer_metric_states (
    series    text        PRIMARY KEY,  -- service:name[.kind]{attributes}, or checkout:conversion
    service   text        NOT NULL,     -- who the series belongs to, for root causes
    direction text        NOT NULL CHECK (direction IN ('up', 'down', 'both')),
    state     jsonb       NOT NULL,     -- aiops_engine.metrics.codec
    saved_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE analyzer_metric_states IS
    'Each watched metric series: its service, the direction it alerts in (up, down, both) and '
    'its learned state (level, noise, run, new normal) as JSON; rewritten when it changes.';

-- Each series' hours (count, sum and sum of squares of its values on the
-- detector's scale), for what it usually does at this hour of the day and
-- week; the hour being filled is written each cycle it changes.
CREATE TABLE IF NOT EXISTS analyzer_metric_hours (
    series  text             NOT NULL,
    hour    timestamptz      NOT NULL,  -- the UTC hour's start
    points  integer          NOT NULL,
    total   double precision NOT NULL,
    squares double precision NOT NULL,
    PRIMARY KEY (series, hour)
);
CREATE INDEX IF NOT EXISTS analyzer_metric_hours_hour ON analyzer_metric_hours (hour);
COMMENT ON TABLE analyzer_metric_hours IS
    'Per metric series and UTC hour: points, sum and sum of squares of asinh(value / scale); '
    'kept AIOPS_SEASON_DAYS.';

-- Every point judged: the value, what was expected and the band it was
-- judged in (NULL while the series is still learning), for charts.
CREATE TABLE IF NOT EXISTS analyzer_metric_judgements (
    series           text             NOT NULL,
    "time"           timestamptz      NOT NULL,  -- the point's time
    value            double precision NOT NULL,
    expected         double precision,
    lower            double precision,
    upper            double precision,
    score            double precision NOT NULL,  -- 0..1
    anomalous        boolean          NOT NULL,
    new_normal_since timestamptz,                -- set on the point a new level was adopted
    explanation      text             NOT NULL
);
CREATE INDEX IF NOT EXISTS analyzer_metric_judgements_series_time
    ON analyzer_metric_judgements (series, "time");
CREATE INDEX IF NOT EXISTS analyzer_metric_judgements_time
    ON analyzer_metric_judgements ("time");
COMMENT ON TABLE analyzer_metric_judgements IS
    'Every metric point the analyzer judged: value, expected, band (lower..upper), score, '
    'anomalous, new_normal_since and why; kept AIOPS_METRIC_JUDGEMENT_RETENTION (7 days).';

-- New normals users asked for (POST /metric-series/{series}/new-normal),
-- applied and deleted by the next cycle.
CREATE TABLE IF NOT EXISTS analyzer_metric_accepts (
    series       text        PRIMARY KEY,
    requested_at timestamptz NOT NULL
);
COMMENT ON TABLE analyzer_metric_accepts IS
    'Series whose current level a user accepted as the new normal; the next cycle applies it.';

-- Where the last metric window ended, next to the span windows' progress.
ALTER TABLE analyzer_progress ADD COLUMN IF NOT EXISTS metrics_end timestamptz;
COMMENT ON COLUMN analyzer_progress.metrics_end IS
    'The end of the last metric window judged (it runs AIOPS_METRICS_LATENESS behind now).';
