"""The one Bolt AsyncApp; the composition root (bot/app.py) registers every Slack surface on it,
each with the collaborators it uses.

Request verification is ours (bot/slack/signing.py, in bot/web.py) so that bad
signatures are always 401; Socket Mode payloads arrive over an authenticated
websocket and need none.
"""

from __future__ import annotations

from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

log = structlog.get_logger(__name__)


def build_bolt_app(client: AsyncWebClient) -> AsyncApp:
    app = AsyncApp(
        name="runbook-bot",  # without a name, bolt walks the whole call stack (inspect.stack) to make one up
        client=client,
        request_verification_enabled=False,
        process_before_response=False,
        ignoring_self_events_enabled=True,
    )

    async def handle_unexpected_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("unhandled listener error", error_type=type(error).__name__, exc_info=error)

    app.error(handle_unexpected_error)
    return app
