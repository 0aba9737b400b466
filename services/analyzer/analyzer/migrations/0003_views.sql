-- Views for the questions people ask in psql, so nobody has to remember the
-- schema at 3 am. Idempotent (CREATE OR REPLACE), like 0001 and 0002:
-- `psql -f` applies it by hand as well. `\dv` lists the views, `\df trace_tree`
-- the function, and `\d+ <view>` shows each one's comment.

-- Requests, errors and latency per minute and endpoint, from server spans.
-- Bounded to the last 24 hours: the bound is a range on "timestamp", which
-- the BRIN index serves, whereas a filter on the truncated minute could not
-- use an index, and an unbounded view would aggregate the whole table.
CREATE OR REPLACE VIEW endpoint_stats_minute AS
SELECT
    date_trunc('minute', "timestamp")                        AS minute,
    service_name                                             AS service,
    endpoint,
    count(*)                                                 AS requests,
    count(*) FILTER (WHERE status_code >= 500)               AS errors,
    round((count(*) FILTER (WHERE status_code >= 500))::numeric / count(*), 4) AS error_rate,
    round((percentile_cont(0.50) WITHIN GROUP (ORDER BY latency_ms))::numeric, 1) AS p50_ms,
    round((percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms))::numeric, 1) AS p95_ms,
    round((percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms))::numeric, 1) AS p99_ms
FROM telemetry
WHERE kind = 'server' AND "timestamp" >= now() - interval '24 hours'
GROUP BY 1, 2, 3
ORDER BY minute DESC, service, endpoint;
COMMENT ON VIEW endpoint_stats_minute IS
    'Per minute, service and endpoint over the last 24 hours (server spans): requests, '
    'errors (5xx), error_rate, p50/p95/p99 latency in ms; newest minute first.';

-- A trace as an indented tree. A view cannot take a parameter, hence a
-- function: SELECT * FROM trace_tree('<trace id>');
-- Roots are spans with no parent, or whose parent was never recorded (a lost
-- row must not hide the rest of the trace). Siblings are ordered by start
-- time, depth first; the CYCLE clause stops on a span id repeated along a
-- path, which bad data (a reused span id) could otherwise loop on forever.
CREATE OR REPLACE FUNCTION trace_tree(trace_id text)
RETURNS TABLE (
    depth      integer,
    at         timestamptz,
    service    text,
    kind       text,
    endpoint   text,
    status     integer,
    latency_ms double precision,
    span_id    text,
    tree       text
)
LANGUAGE sql STABLE
AS $$
WITH RECURSIVE spans AS (
    SELECT * FROM telemetry AS t WHERE t.trace_id = trace_tree.trace_id
),
walk AS (
    SELECT s.*, 0 AS depth
    FROM spans AS s
    WHERE s.parent_span_id IS NULL
       OR NOT EXISTS (SELECT 1 FROM spans AS p WHERE p.span_id = s.parent_span_id)
    UNION ALL
    SELECT c.*, w.depth + 1
    FROM walk AS w
    JOIN spans AS c ON c.parent_span_id = w.span_id
) SEARCH DEPTH FIRST BY "timestamp", span_id SET path
  CYCLE span_id SET looped USING visited
SELECT
    w.depth,
    w."timestamp",
    w.service_name,
    w.kind,
    w.endpoint,
    w.status_code,
    w.latency_ms,
    w.span_id,
    repeat('  ', w.depth)
        || CASE WHEN w.kind = 'client'
                THEN w.service_name || ' → ' || coalesce(w.peer_service, '?')
                ELSE w.service_name END
        || ' ' || w.method || ' ' || w.endpoint
FROM walk AS w
WHERE NOT w.looped
ORDER BY w.path
$$;
COMMENT ON FUNCTION trace_tree(text) IS
    'A trace as a tree: SELECT * FROM trace_tree(''<trace id>''); one row per span, '
    'depth first by start time, the tree column indented two spaces per level.';

-- The incidents still open or acknowledged, as of their latest recorded
-- change. Read from the history table, so it works while Redis is down and
-- agrees with what the analyzer last wrote.
CREATE OR REPLACE VIEW open_incidents AS
SELECT
    incident_id,
    status,
    severity,
    root_service || coalesce(' ' || root_endpoint, '') AS root_cause,
    round(confidence::numeric, 2)                     AS confidence,
    title,
    (incident ->> 'opened_at')::timestamptz           AS opened_at,
    at                                                AS updated_at,
    event                                             AS last_event,
    detail
FROM (
    SELECT DISTINCT ON (incident_id) *
    FROM analyzer_incident_history
    ORDER BY incident_id, at DESC, id DESC
) AS latest
WHERE status <> 'resolved'
ORDER BY updated_at DESC, incident_id;
COMMENT ON VIEW open_incidents IS
    'Incidents not resolved, as of their latest change in analyzer_incident_history; '
    'most recently changed first.';

-- Every change to every incident, newest first.
CREATE OR REPLACE VIEW incident_timeline AS
SELECT
    at,
    incident_id,
    event,
    status,
    severity,
    root_service || coalesce(' ' || root_endpoint, '') AS root_cause,
    round(confidence::numeric, 2)                     AS confidence,
    detail,
    title
FROM analyzer_incident_history
ORDER BY at DESC, id DESC;
COMMENT ON VIEW incident_timeline IS
    'Every incident change (opened, updated, severity_changed, root_cause_changed, '
    'acknowledged, resolved, reopened), newest first.';

-- The `baselines` view comes with migration 0004, with the analyzer's own threshold.
