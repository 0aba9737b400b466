"""One analyzer replica leads at a time: a Redis key with an expiry, renewed by its holder.

The leader runs the analysis cycles and writes incidents; the others serve
the API and take over within `ttl_s` when the leader stops renewing (it
died, or lost Redis). Renewal and release are scripts that act only if the
key still holds this replica's identity, so a replica never extends or
deletes a lock another replica has taken since.
"""

from __future__ import annotations

import os
import secrets
import socket

from redis.asyncio import Redis

LOCK_KEY = "analyzer:leader"

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


def replica_identity() -> str:
    """host:pid:random — readable in `redis-cli GET analyzer:leader`, unique per process."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class LeaderLock:
    def __init__(self, redis: Redis, *, identity: str, ttl_s: float) -> None:
        self._redis = redis
        self.identity = identity
        self._ttl_ms = int(ttl_s * 1000)

    async def hold(self) -> bool:
        """Take the lock if free, renew it if ours; whether this replica leads now.

        Redis errors propagate: the caller decides what "don't know" means.
        """
        renewed = await self._redis.eval(_RENEW, 1, LOCK_KEY, self.identity, self._ttl_ms)
        if renewed:
            return True
        taken = await self._redis.set(LOCK_KEY, self.identity, px=self._ttl_ms, nx=True)
        return bool(taken)

    async def holder(self) -> str | None:
        raw = await self._redis.get(LOCK_KEY)
        return raw.decode() if isinstance(raw, bytes) else raw

    async def release(self) -> None:
        """Give the lock up at shutdown, so a standby takes over at once."""
        await self._redis.eval(_RELEASE, 1, LOCK_KEY, self.identity)
