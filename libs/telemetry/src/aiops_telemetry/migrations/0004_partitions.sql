-- Telemetry partitioned by time (issue 17): one partition per UTC day of
-- "timestamp", so retention drops whole days (`DROP TABLE`, no DELETE and no
-- bloat) and a window query reads one day's indexes. The functions below
-- keep partitions ahead of time; the analyzer calls them on a schedule
-- (AIOPS_TELEMETRY_RETENTION). Idempotent, like every migration here.

-- A partitioned table's partitions and their bounds, for any table
-- partitioned by one timestamptz column; `is_default` marks the partition
-- that takes rows no other range holds (never refused, moved out later).
CREATE OR REPLACE FUNCTION aiops_partitions(parent regclass)
RETURNS TABLE (partition regclass, lower timestamptz, upper timestamptz, is_default boolean)
LANGUAGE sql STABLE
SET timezone = 'UTC'
AS $$
SELECT
    c.oid::regclass,
    CASE WHEN bound LIKE '%FROM (MINVALUE)%' THEN '-infinity'
         ELSE (regexp_match(bound, 'FROM \(''([^'']+)''\)'))[1]::timestamptz END,
    CASE WHEN bound LIKE '%TO (MAXVALUE)%' THEN 'infinity'
         ELSE (regexp_match(bound, 'TO \(''([^'']+)''\)'))[1]::timestamptz END,
    bound = 'DEFAULT'
FROM pg_inherits AS i
JOIN pg_class AS c ON c.oid = i.inhrelid
CROSS JOIN LATERAL pg_get_expr(c.relpartbound, c.oid) AS bound
WHERE i.inhparent = parent
ORDER BY 3
$$;
COMMENT ON FUNCTION aiops_partitions(regclass) IS
    'Partitions of a time-partitioned table with their [lower, upper) bounds: '
    'SELECT * FROM aiops_partitions(''telemetry'');';

-- Create `parent`'s partitions of `span` each, following on from the last
-- one, until `at + ahead` is covered (`at` is now, unless a caller replays
-- simulated time). Rows the default partition took for a range created now,
-- or dated before every partition (a backfill, a replayed recording), or
-- older than `keep_from`, are dealt with by rebuilding the default: it is
-- detached, the new ranges and the past ones its rows need are created, a
-- fresh default is attached, the rows still kept re-inserted (each lands in
-- its partition), and the old one dropped — all in this transaction, so no
-- row is lost or seen twice, and nothing is deleted row by row. Returns the
-- partitions created.
CREATE OR REPLACE FUNCTION aiops_add_partitions(
    parent regclass,
    span interval,
    ahead interval,
    keep_from timestamptz DEFAULT '-infinity',
    at timestamptz DEFAULT now()
)
RETURNS integer
LANGUAGE plpgsql
SET timezone = 'UTC'
AS $$
DECLARE
    key_column name;
    parent_schema name;
    parent_name name;
    default_partition regclass;
    default_name text;
    first_lower timestamptz;
    lower_bound timestamptz;
    upper_bound timestamptz;
    past timestamptz;
    target timestamptz := at + ahead;
    stale boolean := false;
    created integer := 0;
    name_format text := CASE WHEN span >= interval '1 day' THEN 'YYYYMMDD' ELSE 'YYYYMMDD"_"HH24MI' END;
BEGIN
    IF span <= interval '0' THEN
        RAISE EXCEPTION 'a partition must span some time, not %', span;
    END IF;
    SELECT a.attname, n.nspname, c.relname INTO key_column, parent_schema, parent_name
    FROM pg_partitioned_table AS p
    JOIN pg_attribute AS a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
    JOIN pg_class AS c ON c.oid = p.partrelid
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE p.partrelid = parent;
    IF key_column IS NULL THEN
        RAISE EXCEPTION '% is not partitioned', parent;
    END IF;
    SELECT partition INTO default_partition FROM aiops_partitions(parent) WHERE is_default;
    SELECT min(lower), max(upper) INTO first_lower, lower_bound
    FROM aiops_partitions(parent) WHERE NOT is_default;
    lower_bound := coalesce(lower_bound, date_bin(span, at, '2000-01-01'));
    upper_bound := lower_bound;
    WHILE upper_bound < target LOOP
        upper_bound := upper_bound + span;
    END LOOP;
    IF default_partition IS NOT NULL THEN
        EXECUTE format(
            'SELECT EXISTS (SELECT FROM %s WHERE %I < $3 OR %I < $4 OR (%I >= $1 AND %I < $2))',
            default_partition, key_column, key_column, key_column, key_column
        ) INTO stale USING lower_bound, upper_bound, keep_from, coalesce(first_lower, '-infinity');
    END IF;
    IF stale THEN
        default_name := (SELECT relname FROM pg_class WHERE oid = default_partition);
        EXECUTE format('ALTER TABLE %s DETACH PARTITION %s', parent, default_partition);
        EXECUTE format('ALTER TABLE %s RENAME TO %I', default_partition, default_name || '_old');
        -- The past days its kept rows need, where no partition is.
        FOR past IN EXECUTE format(
            'SELECT DISTINCT date_bin($1, %I, ''2000-01-01'') FROM %I.%I WHERE %I >= $2 AND %I < $3',
            key_column, parent_schema, default_name || '_old', key_column, key_column
        ) USING span, keep_from, coalesce(first_lower, '-infinity') LOOP
            IF NOT EXISTS (
                SELECT FROM aiops_partitions(parent)
                WHERE NOT is_default AND lower < past + span AND upper > past
            ) THEN
                EXECUTE format(
                    'CREATE TABLE %I.%I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                    parent_schema, parent_name || '_p' || to_char(past, name_format),
                    parent, past, past + span
                );
                created := created + 1;
            END IF;
        END LOOP;
    END IF;
    WHILE lower_bound < upper_bound LOOP
        EXECUTE format(
            'CREATE TABLE %I.%I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
            parent_schema, parent_name || '_p' || to_char(lower_bound, name_format),
            parent, lower_bound, lower_bound + span
        );
        created := created + 1;
        lower_bound := lower_bound + span;
    END LOOP;
    IF stale THEN
        EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s DEFAULT', parent_schema, default_name, parent);
        EXECUTE format(
            'INSERT INTO %s SELECT * FROM %I.%I WHERE %I >= $1',
            parent, parent_schema, default_name || '_old', key_column
        ) USING keep_from;
        EXECUTE format('DROP TABLE %I.%I', parent_schema, default_name || '_old');
    END IF;
    RETURN created;
END
$$;
COMMENT ON FUNCTION aiops_add_partitions(regclass, interval, interval, timestamptz, timestamptz) IS
    'Create partitions of `span` until `at` (now) + `ahead`; rows the default partition holds for '
    'those ranges, or from before every partition, move into theirs, and its rows older than '
    '`keep_from` go. Returns how many were created.';

-- Convert the unpartitioned table of migrations 0001-0003. An empty one is
-- simply replaced. One holding rows becomes the first partition as it is,
-- covering everything up to the end of today:
-- no row is copied, so none is lost or counted twice, and retention drops
-- it whole once today is past the horizon. Writers wait on the lock for
-- the statements this takes — one scan of the old table, to check it fits
-- its bounds — then their rows go to the new table (a statement resolves
-- the table's name again after waiting on a lock).
DO $$
DECLARE
    next_id bigint;
    cutoff timestamptz;
    has_rows boolean;
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = 'telemetry'::regclass) = 'p' THEN
        RETURN;
    END IF;
    LOCK TABLE telemetry IN ACCESS EXCLUSIVE MODE;
    has_rows := EXISTS (SELECT FROM telemetry);
    next_id := coalesce(pg_sequence_last_value(pg_get_serial_sequence('telemetry', 'id')), 0) + 1;
    ALTER TABLE telemetry RENAME TO telemetry_legacy;
    ALTER TABLE telemetry_legacy ALTER COLUMN id DROP IDENTITY;
    ALTER INDEX idx_endpoint_time RENAME TO telemetry_legacy_endpoint_time;
    ALTER INDEX idx_trace_id RENAME TO telemetry_legacy_trace_id;
    ALTER INDEX idx_telemetry_time_brin RENAME TO telemetry_legacy_time_brin;

    CREATE TABLE telemetry (LIKE telemetry_legacy INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
        PARTITION BY RANGE ("timestamp");
    EXECUTE format('CREATE SEQUENCE telemetry_id_seq START %s OWNED BY telemetry.id', next_id);
    ALTER TABLE telemetry ALTER COLUMN id SET DEFAULT nextval('telemetry_id_seq');
    CREATE INDEX idx_endpoint_time ON telemetry (endpoint, "timestamp");
    CREATE INDEX idx_trace_id ON telemetry (trace_id);
    CREATE INDEX idx_telemetry_time_brin ON telemetry USING brin ("timestamp")
        WITH (autosummarize = on);
    CREATE TABLE telemetry_default PARTITION OF telemetry DEFAULT;

    IF has_rows THEN
        SET LOCAL timezone = 'UTC';
        cutoff := date_bin('1 day', now(), '2000-01-01') + interval '1 day';
        -- Rows dated past today (a clock running ahead) wait in the default
        -- partition for their day's, rather than keeping the old table alive.
        WITH ahead AS (DELETE FROM telemetry_legacy WHERE "timestamp" >= cutoff RETURNING *)
        INSERT INTO telemetry SELECT * FROM ahead;
        EXECUTE format(
            'ALTER TABLE telemetry ATTACH PARTITION telemetry_legacy FOR VALUES FROM (MINVALUE) TO (%L)',
            cutoff
        );
    ELSE
        DROP TABLE telemetry_legacy;
    END IF;
END
$$;

-- Today and the next two days, so a stack whose analyzer is not running yet
-- still writes into day partitions; the analyzer keeps them coming.
SELECT aiops_add_partitions('telemetry', interval '1 day', interval '2 days');

-- Spans kept past retention: before a day's partition is dropped, the spans
-- of the traces the analyzer cited as evidence (anomalies' sample traces) are
-- copied here, so an old incident's traces still open. Same columns.
CREATE TABLE IF NOT EXISTS telemetry_evidence (LIKE telemetry INCLUDING DEFAULTS);
CREATE INDEX IF NOT EXISTS idx_telemetry_evidence_trace_id ON telemetry_evidence (trace_id);
COMMENT ON TABLE telemetry_evidence IS
    'Spans of traces cited as evidence, copied aside before their day''s telemetry partition '
    'was dropped by retention; read together with telemetry.';

-- Every span still held, in its day's partition or kept as evidence.
CREATE OR REPLACE VIEW telemetry_all AS
SELECT * FROM telemetry
UNION ALL
SELECT * FROM telemetry_evidence;
COMMENT ON VIEW telemetry_all IS
    'telemetry plus the evidence spans kept past retention (telemetry_evidence).';

-- Partitions with their bounds and size, for `SELECT * FROM telemetry_partitions`.
CREATE OR REPLACE VIEW telemetry_partitions AS
SELECT
    p.partition::text AS name,
    p.lower AS "from",
    p.upper AS "to",
    p.is_default,
    c.reltuples::bigint AS rows_estimate,
    pg_size_pretty(pg_total_relation_size(p.partition)) AS size
FROM aiops_partitions('telemetry') AS p
JOIN pg_class AS c ON c.oid = p.partition;
COMMENT ON VIEW telemetry_partitions IS
    'The telemetry table''s partitions, oldest first: bounds, estimated rows, size on disk.';
