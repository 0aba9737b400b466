-- Leader fencing (issue 17). Each take of the leader lock in Redis draws a
-- higher token; the leader claims this row with its token first in every
-- write transaction, and a claim below the stored token is refused. So a
-- leader that stalled past its lease writes nothing once a newer one has
-- claimed the row, and the row lock serializes the two. Idempotent, like 0001.
CREATE TABLE IF NOT EXISTS analyzer_leader_fence (
    singleton  boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    token      bigint      NOT NULL,
    holder     text        NOT NULL,  -- host:pid:random, as in Redis at analyzer:leader
    at         timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE analyzer_leader_fence IS
    'The highest leader token that has written, who holds it and when it last wrote; one row. Writes under a lower token are refused.';
