"""One analyzer replica leads at a time: a Redis key with an expiry, renewed by its holder.

The leader runs the analysis cycles and writes incidents; the others serve
the API and take over within `ttl_s` when the leader stops renewing (it
died, or lost Redis). Renewal and release are scripts that act only if the
key still holds this replica's identity, so a replica never extends or
deletes a lock another replica has taken since.

A lease alone cannot stop a leader that stalled (a long pause, a frozen VM)
past its TTL from writing when it wakes, after a standby took over. So each
take of the lock also draws a fencing token from a counter in Redis, in the
same script: every new leader's token is higher. The leader writes under
its token: PostgreSQL keeps the highest token that has written
(`claim_fence`, first in each write transaction) and Redis writes compare
it with the counter (`incidents.redis_store`); an older token raises FencedOut.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass

from redis.asyncio import Redis

from aiops_telemetry import Connection

LOCK_KEY = "analyzer:leader"
TOKEN_KEY = "analyzer:leader:token"  # noqa: S105 (a key name, not a credential)

# KEYS[1] = lock, ARGV[1] = identity, ARGV[2] = ttl in ms.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""
# KEYS[2] = the token counter. One script, so no replica holds the lock without a token.
_TAKE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    return redis.call('INCR', KEYS[2])
end
return false
"""
# ARGV[2] = a token already used. Only while holding the lock.
_REISSUE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
    return false
end
local token = redis.call('INCR', KEYS[2])
if token <= tonumber(ARGV[2]) then
    token = tonumber(ARGV[2]) + 1
    redis.call('SET', KEYS[2], token)
end
return token
"""


def replica_identity() -> str:
    """host:pid:random — readable in `redis-cli GET analyzer:leader`, unique per process."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(frozen=True, slots=True)
class Fence:
    """What a leader's writes carry: the token it took the lock with, and who it is."""

    token: int
    holder: str


class FencedOut(RuntimeError):
    """A write under a stale token was refused: a newer leader took over meanwhile."""

    def __init__(self, fence: Fence, newer: int | None, where: str) -> None:
        self.token = fence.token
        self.newer = newer  # the token that won; None if Redis lost its counter
        super().__init__(
            f"{fence.holder} writes under leader token {fence.token}, "
            f"but {where} has token {newer if newer is not None else '(none)'}"
        )


class LeaderLock:
    def __init__(self, redis: Redis, *, identity: str, ttl_s: float) -> None:
        self._redis = redis
        self.identity = identity
        self._ttl_ms = int(ttl_s * 1000)
        self.token: int | None = None  # this holding's fencing token; None when not holding

    async def hold(self) -> bool:
        """Take the lock if free, renew it if ours; whether this replica leads now.

        Taking it draws a new token; renewing keeps the one it has. Redis
        errors propagate, leaving the token as it was: the caller decides
        what "don't know" means.
        """
        renewed = await self._redis.eval(_RENEW, 1, LOCK_KEY, self.identity, self._ttl_ms)
        if renewed:
            return True
        token = await self._redis.eval(_TAKE, 2, LOCK_KEY, TOKEN_KEY, self.identity, self._ttl_ms)
        self.token = None if token is None else int(token)
        return self.token is not None

    async def reissue(self, *, above: int) -> int | None:
        """A token past `above` for the lock this replica holds; None if it does not hold it.

        For when Redis lost its counter (restarted empty) and handed out a
        token PostgreSQL has already seen: while the lock is ours, a higher
        one is as rightfully ours as the one we took.
        """
        token = await self._redis.eval(_REISSUE, 2, LOCK_KEY, TOKEN_KEY, self.identity, above)
        if token is None:
            return None
        self.token = int(token)
        return self.token

    async def holder(self) -> str | None:
        raw = await self._redis.get(LOCK_KEY)
        return raw.decode() if isinstance(raw, bytes) else raw

    async def release(self) -> None:
        """Give the lock up at shutdown, so a standby takes over at once."""
        await self._redis.eval(_RELEASE, 1, LOCK_KEY, self.identity)
        self.token = None


# Claims the row if our token is the newest, or ties with our own claim; no row back if not.
_CLAIM_SQL = """
INSERT INTO analyzer_leader_fence AS f (token, holder, at) VALUES ($1, $2, now())
ON CONFLICT (singleton) DO UPDATE SET token = EXCLUDED.token, holder = EXCLUDED.holder, at = now()
WHERE f.token < EXCLUDED.token OR (f.token = EXCLUDED.token AND f.holder = EXCLUDED.holder)
RETURNING token
"""
# A leader stalled inside its transaction holds the row, and with it the next leader's
# claim: PostgreSQL ends such a transaction (and its session) after this long.
_STALLED_SQL = "SET LOCAL idle_in_transaction_session_timeout = '5s'"


async def claim_fence(conn: Connection, fence: Fence) -> None:
    """First in a write transaction: raise FencedOut unless `fence` is the newest token.

    The row stays locked until the transaction ends, so a newer leader's
    claim waits for it and then sees it committed (or rolled back).
    """
    if not conn.is_in_transaction():
        raise RuntimeError("claim_fence belongs inside the transaction it guards")
    await conn.execute(_STALLED_SQL)
    if await conn.fetchval(_CLAIM_SQL, fence.token, fence.holder) is None:
        row = await conn.fetchrow("SELECT token, holder FROM analyzer_leader_fence")
        newer, holder = (row["token"], row["holder"]) if row else (None, "nobody")
        raise FencedOut(fence, newer, f"PostgreSQL (claimed by {holder})")
