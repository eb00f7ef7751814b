"""Socket Mode with every envelope acknowledged.

Bolt's adapter acknowledges an envelope only when the app answers 200; an event no listener
handles gets 404 and no acknowledgement, so Slack redelivers it (and eventually disables the
app's events). Slack only needs to know we received it, whatever we did with it.
"""

from __future__ import annotations

import time

import structlog
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import run_async_bolt_app, send_async_response
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

log = structlog.get_logger(__name__)


class AcknowledgingSocketModeHandler(AsyncSocketModeHandler):
    async def handle(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
        started = time.time()
        response = await run_async_bolt_app(self.app, req)
        if response.status == 200:
            await send_async_response(client, req, response, started)
            return
        log.info("socket mode envelope not handled; acknowledged", kind=req.type, status=response.status)
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
