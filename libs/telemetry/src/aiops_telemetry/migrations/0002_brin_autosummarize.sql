-- Summarize each BRIN page range as soon as it fills. Unsummarized ranges
-- always match a BRIN scan, so without this a window query on a freshly
-- loaded table reads every page until the next VACUUM.
-- (Once 0004 has partitioned the table its index is a partitioned one, created
-- with the option, and takes no ALTER: hence the check, for `psql -f` by hand.)
DO $$
BEGIN
    IF (SELECT relkind FROM pg_class WHERE relname = 'idx_telemetry_time_brin') = 'i' THEN
        ALTER INDEX idx_telemetry_time_brin SET (autosummarize = on);
    END IF;
END
$$;
