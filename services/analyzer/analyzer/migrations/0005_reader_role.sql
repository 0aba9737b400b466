-- A read-only role for dashboards. Grafana lets any viewer send its own SQL
-- to a data source, so its data source must not be able to write: it logs in
-- as aiops_reader, which may SELECT and nothing else. The analyzer gives the
-- role its login password at start (AIOPS_READER_PASSWORD); until then it
-- cannot log in. Roles are cluster-wide, so this is idempotent by hand too.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'aiops_reader') THEN
        CREATE ROLE aiops_reader NOLOGIN;
    END IF;
END
$$;
COMMENT ON ROLE aiops_reader IS
    'Read-only access for dashboards (Grafana): SELECT on every table and view, nothing else.';
GRANT USAGE ON SCHEMA public TO aiops_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO aiops_reader;
-- Tables and views created later by the migrating role are readable as well.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO aiops_reader;
