-- A key's shape, for bars relative to its own noise (issue 16): the window
-- p95 it usually has (p95 over p50 says how widely its requests vary), and
-- the shares of its requests usually past its two bars.
ALTER TABLE analyzer_baselines ADD COLUMN IF NOT EXISTS tail_ms double precision NOT NULL DEFAULT 0;
ALTER TABLE analyzer_baselines ADD COLUMN IF NOT EXISTS slow_rate double precision NOT NULL DEFAULT 0;
ALTER TABLE analyzer_baselines ADD COLUMN IF NOT EXISTS far_rate double precision NOT NULL DEFAULT 0;
COMMENT ON COLUMN analyzer_baselines.tail_ms IS
    'EWMA of the window p95 latency; 0 until learned.';
COMMENT ON COLUMN analyzer_baselines.slow_rate IS
    'EWMA of the share of requests slower than the key''s bar (level x multiplier).';
COMMENT ON COLUMN analyzer_baselines.far_rate IS
    'EWMA of the share of requests slower than one request''s bar, far in the key''s tail.';
