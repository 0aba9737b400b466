-- Incident history and the learned service dependency graph. Idempotent,
-- like 0001: `psql -f` applies it by hand as well.

-- Every change to every incident, append-only: opened, updated,
-- severity_changed, root_cause_changed, acknowledged, resolved, reopened.
-- Redis forgets an incident an hour after it resolves; this table does not.
CREATE TABLE IF NOT EXISTS analyzer_incident_history (
    id             bigserial        PRIMARY KEY,
    incident_id    text             NOT NULL,  -- INC-...
    at             timestamptz      NOT NULL,  -- when the change happened
    event          text             NOT NULL,
    status         text             NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    severity       text             NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    root_service   text             NOT NULL,
    root_endpoint  text,                       -- NULL when a whole service is blamed
    confidence     double precision NOT NULL,  -- share of traces pointing at the root cause
    title          text             NOT NULL,
    detail         text             NOT NULL,  -- e.g. 'severity high -> critical'
    incident       jsonb            NOT NULL   -- the whole incident after the change
);
COMMENT ON TABLE analyzer_incident_history IS
    'Every incident state change, with the incident as it was after it; append-only.';
CREATE INDEX IF NOT EXISTS idx_incident_history_incident
    ON analyzer_incident_history (incident_id, at);
CREATE INDEX IF NOT EXISTS idx_incident_history_recent
    ON analyzer_incident_history (at DESC);

-- Who calls whom, learned from client spans and the server spans they caused.
CREATE TABLE IF NOT EXISTS analyzer_dependencies (
    caller      text        NOT NULL,  -- service that made the calls
    callee      text        NOT NULL,  -- service that served them ('postgres' for queries)
    calls       bigint      NOT NULL,
    errors      bigint      NOT NULL,  -- failed calls, counted as the window query counts them
    first_seen  timestamptz NOT NULL,
    last_seen   timestamptz NOT NULL,
    PRIMARY KEY (caller, callee)
);
COMMENT ON TABLE analyzer_dependencies IS
    'The service dependency graph the analyzer learned: one row per caller->callee edge.';

-- Where the last analysed window ended: a replica taking over (or a restarted
-- analyzer) resumes there, neither rereading nor skipping a window. One row.
CREATE TABLE IF NOT EXISTS analyzer_progress (
    singleton  boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    last_end   timestamptz NOT NULL,
    saved_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE analyzer_progress IS
    'The end of the last window the analyzer analysed; one row.';
