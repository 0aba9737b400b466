-- Seasonality and quiet keys (issue 16): how many windows a key's traffic was
-- learned from (a key too quiet to teach latency still has a rate), and each
-- key's hours, summed, for what it usually does at this hour of the day and
-- week (aiops_engine.detection.season). One row per key and hour, written as
-- the hour fills; hours older than the engine's season_days are deleted.
ALTER TABLE analyzer_baselines ADD COLUMN IF NOT EXISTS traffic_windows bigint NOT NULL DEFAULT 0;
COMMENT ON COLUMN analyzer_baselines.traffic_windows IS
    'Windows the key''s request rate was learned from, a handful of requests or more.';

CREATE TABLE IF NOT EXISTS analyzer_season_hours (
    kind text NOT NULL,
    service text NOT NULL,
    target text NOT NULL,
    hour timestamptz NOT NULL,
    windows integer NOT NULL,
    requests bigint NOT NULL,
    p50 double precision NOT NULL,
    p50_sq double precision NOT NULL,
    far double precision NOT NULL,
    far_sq double precision NOT NULL,
    errors double precision NOT NULL,
    errors_sq double precision NOT NULL,
    least_rate double precision NOT NULL,
    PRIMARY KEY (kind, service, target, hour)
);
CREATE INDEX IF NOT EXISTS analyzer_season_hours_hour ON analyzer_season_hours (hour);
COMMENT ON TABLE analyzer_season_hours IS
    'Per key and UTC hour: windows and requests seen, and sums over its windows, weighted by their requests, of log1p(p50 ms), the far slow share and the error rate (with their squares); the quietest window''s requests per second.';
