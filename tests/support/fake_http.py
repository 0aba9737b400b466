"""A minimal keep-alive HTTP/1.1 server on loopback, to play a misbehaving peer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

Mode = Literal["answer", "hang", "close"]
# One scripted reply: answer with this status, or hang, or close without answering.
Reply = int | Literal["hang", "close"]


@dataclass
class FakeServer:
    """Answers every request with `status` and `body`, or hangs, or closes without answering.

    `replies` scripts the next requests, one reply each, before falling back to
    `status`/`mode`: [500, 500, 200] fails twice, then answers. Remembers how
    many connections it accepted, and the headers and body of each request.
    """

    status: int = 200
    body: Any = field(default_factory=dict)
    mode: Mode = "answer"
    replies: list[Reply] = field(default_factory=list)
    port: int = 0
    connections: int = 0
    headers: list[dict[str, str]] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    # Set when the server closes, so that hanging handlers end instead of outliving it.
    _closed: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _next_reply(self) -> Reply:
        if self.replies:
            return self.replies.pop(0)
        return self.status if self.mode == "answer" else self.mode

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                lines = head.decode("latin-1").split("\r\n")[1:]
                headers = {
                    k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines if h)
                }
                self.headers.append(headers)
                self.bodies.append(await reader.readexactly(int(headers.get("content-length", 0))))
                reply = self._next_reply()
                if reply == "hang":
                    await self._closed.wait()
                    return
                if reply == "close":
                    return
                payload = json.dumps(self.body).encode()
                writer.write(
                    f"HTTP/1.1 {reply} X\r\ncontent-type: application/json\r\n"
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
        try:
            yield server
        finally:
            server._closed.set()
            tcp.close()
