-- Summarize each BRIN page range as soon as it fills. Unsummarized ranges
-- always match a BRIN scan, so without this a window query on a freshly
-- loaded table reads every page until the next VACUUM.
ALTER INDEX IF EXISTS idx_telemetry_time_brin SET (autosummarize = on);
