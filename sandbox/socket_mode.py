"""Slack's Socket Mode, locally: `apps.connections.open` hands out a websocket URL on the fake, and
`deliver()` sends an envelope to a connected app and waits for its acknowledgement.

The protocol as Slack documents it: on connect the server sends `{"type": "hello"}`; each event is
an envelope `{"envelope_id", "type": "slash_commands" | "interactive" | "events_api", "payload",
"accepts_response_payload"}`; the app acknowledges with `{"envelope_id", "payload"?}` within 3 s.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

from aiohttp import WSMsgType, web

JSON = dict[str, Any]
ACK_TIMEOUT_SECONDS = 3.0  # Slack's own limit for acknowledging an envelope


class SocketModeHub:
    def __init__(self) -> None:
        self._sockets: list[web.WebSocketResponse] = []
        self._acks: dict[str, asyncio.Future[JSON]] = {}
        self._connected = asyncio.Event()

    def connection_path(self) -> str:
        return f"/socket-mode/{secrets.token_hex(8)}"

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True, heartbeat=None)
        await socket.prepare(request)
        await socket.send_json({"type": "hello", "num_connections": len(self._sockets) + 1})
        self._sockets.append(socket)
        self._connected.set()
        try:
            async for message in socket:
                if message.type != WSMsgType.TEXT:
                    continue
                ack = json.loads(message.data)
                waiter = self._acks.pop(str(ack.get("envelope_id")), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(ack)
        finally:
            self._sockets.remove(socket)
            if not self._sockets:
                self._connected.clear()
        return socket

    async def wait_connected(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109 - a test helper's bound
        async with asyncio.timeout(timeout):
            await self._connected.wait()

    async def deliver(self, kind: str, payload: JSON) -> JSON:
        """Send one envelope to a connected app; its acknowledgement (TimeoutError past Slack's 3 s)."""
        if not self._sockets:
            raise RuntimeError("no app is connected over Socket Mode")
        envelope_id = secrets.token_hex(12)
        waiter: asyncio.Future[JSON] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = waiter
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload, "accepts_response_payload": True}
        await self._sockets[-1].send_json(envelope)
        try:
            async with asyncio.timeout(ACK_TIMEOUT_SECONDS):
                return await waiter
        finally:
            self._acks.pop(envelope_id, None)

    async def close(self) -> None:
        for socket in list(self._sockets):
            await socket.close()
