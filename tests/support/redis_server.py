"""What every throwaway Redis shares, in a container for the tests or from the machine's own
binary for the benchmarks: one on 127.0.0.1:`port` that saves nothing."""

from __future__ import annotations

from abc import ABC, abstractmethod

import redis


class RedisAtPort(ABC):
    """A Redis server on 127.0.0.1:`port`; subclasses start and stop it."""

    port: int

    @abstractmethod
    def start(self) -> None:
        """Start it (a no-op when it runs) and return once it answers PING."""

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)

    def _answers_ping(self) -> bool:
        try:
            with self._client() as client:
                return bool(client.ping())
        except redis.RedisError:
            return False

    def reset(self) -> str:
        """Make sure the server runs and holds no data; returns its URL."""
        self.start()
        with self._client() as client:
            client.flushall()
        return self.url
