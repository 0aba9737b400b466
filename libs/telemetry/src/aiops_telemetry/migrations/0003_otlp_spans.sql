-- Spans from any OpenTelemetry SDK (the OTLP receiver, `services/ingest`):
-- INTERNAL spans are kept as `internal` rows (work inside one service; they
-- link a server span to the calls made under it), and a span's own
-- attributes that no column holds are kept in `attributes`, not dropped.
ALTER TABLE telemetry ADD COLUMN IF NOT EXISTS attributes jsonb;
ALTER TABLE telemetry DROP CONSTRAINT IF EXISTS telemetry_kind_check;
ALTER TABLE telemetry ADD CONSTRAINT telemetry_kind_check
    CHECK (kind IN ('server', 'client', 'internal'));
