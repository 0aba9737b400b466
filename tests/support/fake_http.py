"""A minimal keep-alive HTTP/1.1 server on loopback, to play a misbehaving peer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

Mode = Literal["answer", "hang", "close"]


@dataclass
class FakeServer:
    """Answers every request with `status` and `body`, or hangs, or closes without answering.

    Remembers how many connections it accepted and the headers of each request.
    """

    status: int = 200
    body: Any = field(default_factory=dict)
    mode: Mode = "answer"
    port: int = 0
    connections: int = 0
    headers: list[dict[str, str]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                lines = head.decode("latin-1").split("\r\n")[1:]
                headers = {
                    k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines if h)
                }
                self.headers.append(headers)
                await reader.readexactly(int(headers.get("content-length", 0)))
                if self.mode == "hang":
                    await asyncio.sleep(3600)
                if self.mode == "close":
                    return
                payload = json.dumps(self.body).encode()
                writer.write(
                    f"HTTP/1.1 {self.status} X\r\ncontent-type: application/json\r\n"
                    f"content-length: {len(payload)}\r\n\r\n".encode()
                    + payload
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def fake_server(**settings: Any) -> AsyncIterator[FakeServer]:
    server = FakeServer(**settings)
    tcp = await asyncio.start_server(server._handle, "127.0.0.1", 0)
    server.port = tcp.sockets[0].getsockname()[1]
    async with tcp:
        yield server
        tcp.close()
