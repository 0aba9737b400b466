"""A cold start: the analyzer restarted with nothing learned, as on a fresh stack's first traffic.

The analyzer keeps what it learns in PostgreSQL: the baselines
(`analyzer_baselines`), the dependency graph (`analyzer_dependencies`) and
where its windows got to (`analyzer_progress`); a replica loads them when it
starts leading. Redis holds only incidents and the leader lock. A fresh stack
has none of the three, so a scenario with `cold_start = true` reproduces one
without deleting anything a user keeps:

1. it waits until no span has arrived for `QUIET_S` seconds, so the first
   windows the restarted analyzer reads hold no earlier traffic;
2. it stops the analyzer (`docker compose stop analyzer`: every replica, each
   handing the leader lock back), copies the baselines and the graph into
   memory and empties the three tables in one transaction, and starts the
   analyzer again, which leads with no baseline, no graph and no window
   behind it;
3. the scenario's traffic starts then, the stack's "first traffic", and the
   warm-up counts from its first request;
4. in the clean-up, once the traffic has been quiet for `QUIET_S` again (so
   the cold analyzer has read the run's last windows, and the restarted one,
   resuming where it stopped, reads none of them), the analyzer is stopped
   again, the baselines and the graph are put back as they were before
   step 2, and it is started again: later runs judge against the usual
   baselines, not ones that learned the scenario's fault as normal.

Telemetry, the anomaly history, incidents in Redis and their history in
PostgreSQL are never touched. What it takes is what an operator has, Docker
and the database owner's password, which the harness already uses; the
analyzer gains no endpoint that could wipe its memory. The analyzer is down
for a few seconds at each restart. Were the harness killed between steps 2
and 4, the analyzer would relearn its baselines from traffic (a minute or so).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import asyncpg

from ._types import Log
from .stack import Stack, StackError

# The tables of what the analyzer learned: copied and emptied at a cold start, put back after it.
LEARNED_TABLES = ("analyzer_baselines", "analyzer_dependencies")
PROGRESS_TABLE = "analyzer_progress"  # emptied too (a fresh analyzer has read no window)
ANALYZER = "analyzer"  # the compose service
QUIET_S = 10.0  # no span for this long: the default 5 s window, the 3 s ingest lag, a margin
QUIET_TIMEOUT_S = 60.0  # then go on, with a note: another source keeps sending traffic
LEADER_TIMEOUT_S = 30.0  # for the restarted analyzer to lead (twice the leader lock's ttl)

_SPAN_AGE_SQL = """
SELECT extract(epoch FROM now() - max("timestamp"))::float8
FROM telemetry WHERE "timestamp" > now() - interval '10 minutes'
"""


@dataclass(frozen=True)
class LearnedState:
    """The rows of the learned tables as they were, with their columns, table by table."""

    tables: dict[str, tuple[list[str], list[tuple[object, ...]]]]

    def describe(self) -> str:
        """Say how much it holds: "12 baselines and 3 dependency edges"."""
        baselines = len(self.tables["analyzer_baselines"][1])
        edges = len(self.tables["analyzer_dependencies"][1])
        return f"{baselines} baselines and {edges} dependency edges"


async def take_learned_state(conn: asyncpg.Connection) -> LearnedState:
    """Copy the learned tables' rows, then empty them and the progress mark: one transaction."""
    tables: dict[str, tuple[list[str], list[tuple[object, ...]]]] = {}
    async with conn.transaction():
        for table in LEARNED_TABLES:
            statement = await conn.prepare(f"SELECT * FROM {table}")  # noqa: S608 (constants)
            columns = [attribute.name for attribute in statement.get_attributes()]
            tables[table] = (columns, [tuple(row) for row in await statement.fetch()])
        for table in (*LEARNED_TABLES, PROGRESS_TABLE):
            await conn.execute(f"DELETE FROM {table}")  # noqa: S608 (constants)
    return LearnedState(tables)


async def put_back_learned_state(conn: asyncpg.Connection, state: LearnedState) -> None:
    """Replace the learned tables' rows with `state`'s, in one transaction."""
    async with conn.transaction():
        for table, (columns, rows) in state.tables.items():
            await conn.execute(f"DELETE FROM {table}")  # noqa: S608 (constants)
            if rows:
                await conn.copy_records_to_table(table, records=rows, columns=columns)


async def start_cold(stack: Stack, log: Log, notes: list[str]) -> LearnedState:
    """Steps 1 and 2: the analyzer restarted with nothing learned; what it had learned."""
    await _await_quiet(stack, log, notes)
    log("cold start: restarting the analyzer with nothing learned (telemetry and incidents kept)")
    await stack.stop_service(ANALYZER)
    state: LearnedState | None = None
    try:
        async with stack.database() as conn:
            state = await take_learned_state(conn)
        await stack.start_service(ANALYZER)
        log(f"cold start: the analyzer forgot {state.describe()}; they come back after the run")
        await _await_leader(stack, notes, log)
    except BaseException:
        # The run will not start, so its clean-up will not put the state back: do it now, and
        # never leave the analyzer stopped.
        with contextlib.suppress(Exception):
            if state is not None:
                await stack.stop_service(ANALYZER)
                async with stack.database() as conn:
                    await put_back_learned_state(conn, state)
        with contextlib.suppress(Exception):
            await stack.start_service(ANALYZER)
        raise
    return state


async def restore_learned_state(stack: Stack, state: LearnedState, log: Log) -> list[str]:
    """Step 4: what the analyzer had learned, put back; notes on what failed (never raises)."""
    notes: list[str] = []
    try:
        await _await_quiet(stack, log, notes)
        await stack.stop_service(ANALYZER)
        try:
            async with stack.database() as conn:
                await put_back_learned_state(conn, state)
        finally:
            await stack.start_service(ANALYZER)
    except (StackError, asyncpg.PostgresError, OSError) as exc:
        note = f"clean-up: the analyzer's learned state was not put back ({exc}); it relearns it"
        log(note)
        return [*notes, note]
    log(f"clean-up: the analyzer has its {state.describe()} back")
    return notes


async def _await_quiet(stack: Stack, log: Log, notes: list[str]) -> None:
    """Wait until the last span is `QUIET_S` old, at most `QUIET_TIMEOUT_S`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + QUIET_TIMEOUT_S
    while True:
        async with stack.database() as conn:
            age: float | None = await conn.fetchval(_SPAN_AGE_SQL)
        if age is None or age >= QUIET_S:
            return
        if loop.time() >= deadline:
            notes.append(
                f"spans kept arriving for {QUIET_TIMEOUT_S:g} s (traffic from elsewhere?): the "
                "windows around the analyzer's restart hold some, so it was not a clean cold start"
            )
            log(notes[-1])
            return
        log(f"waiting {QUIET_S - age:.1f} s for quiet telemetry before restarting the analyzer")
        await asyncio.sleep(QUIET_S - age)


async def _await_leader(stack: Stack, notes: list[str], log: Log) -> None:
    """Until the restarted analyzer leads, with no baseline; a note if it does not in time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LEADER_TIMEOUT_S
    while (health := await stack.analyzer_health()).role != "leader":
        if loop.time() >= deadline:  # another replica may lead: cycles run there
            notes.append(f"the analyzer at {stack.settings.url(ANALYZER)} is not leading")
            log(notes[-1])
            return
        await asyncio.sleep(0.5)
    if health.baselines:
        notes.append(f"not a cold start: the analyzer leads with {health.baselines} baselines")
        log(notes[-1])
