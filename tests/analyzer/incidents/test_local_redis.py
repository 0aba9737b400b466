"""The test Redis itself: an outage is real, and each test gets it back running and empty."""

from __future__ import annotations

import pytest
import redis

from tests.support.containers import ContainerRedis


def test_stop_refuses_connections_until_start_brings_it_back_on_the_same_port(
    redis_server: ContainerRedis, redis_url: str
) -> None:
    """stop() is an outage for a connected client; start() serves the same URL again."""
    with redis.Redis.from_url(redis_url, socket_timeout=2) as client:
        client.set("before", "outage")
        redis_server.stop()
        with pytest.raises(redis.ConnectionError):
            client.ping()
        redis_server.start()
        assert client.ping()
        assert client.get("before") is None  # nothing is persisted across a restart


def test_reset_restarts_a_stopped_server_and_empties_a_running_one(
    redis_server: ContainerRedis, redis_url: str
) -> None:
    """What the redis_url fixture does between tests: running again, and no data left."""
    with redis.Redis.from_url(redis_url, socket_timeout=2) as client:
        client.set("left", "over")
        assert redis_server.reset() == redis_url
        assert client.dbsize() == 0

        redis_server.stop()
        assert redis_server.reset() == redis_url
        assert client.ping()
        assert client.dbsize() == 0
