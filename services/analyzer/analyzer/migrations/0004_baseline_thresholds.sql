-- The latency threshold each baseline judges windows against, stored as the
-- analyzer computes it (baseline x multiplier, and spreads, and a floor), so
-- psql and Grafana show the analyzer's own bar instead of a guess at its rule.
ALTER TABLE analyzer_baselines ADD COLUMN IF NOT EXISTS threshold_ms double precision;
COMMENT ON COLUMN analyzer_baselines.threshold_ms IS
    'Window p50 above which the analyzer reports a latency anomaly; NULL while the baseline is still learning.';

-- The view, now with that threshold (its column was level x 3 in 0003).
DROP VIEW IF EXISTS baselines;
CREATE VIEW baselines AS
SELECT
    service || CASE WHEN kind = 'edge' THEN ' → ' ELSE ' ' END || target AS key,
    kind,
    round(level_ms::numeric, 1)      AS level_ms,
    round(spread_ms::numeric, 1)     AS spread_ms,
    round(threshold_ms::numeric, 1)  AS threshold_ms,
    round(rate_per_s::numeric, 2)    AS rate_per_s,
    round(error_rate::numeric, 4)    AS error_rate,
    windows,
    samples,
    updated_at
FROM analyzer_baselines
ORDER BY kind DESC, service, target;
COMMENT ON VIEW baselines IS
    'The learned baselines, one row per "service target" (endpoint) or "caller → callee" '
    '(edge): level, spread, the analyzer''s latency threshold (NULL while learning), rates, '
    'windows learned, updated_at.';
