"""The one Bolt AsyncApp: every Slack surface registers its listeners here.

Request verification is ours (bot/slack/signing.py, in bot/web.py) so that bad
signatures are always 401; Socket Mode payloads arrive over an authenticated
websocket and need none.
"""

from __future__ import annotations

from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp

from bot.runtime import Runtime
from bot.slack import (
    guides,
    health_report,
    incident_command,
    maintenance_command,
    runbook_actions,
    runbook_command,
    suggested,
)

log = structlog.get_logger(__name__)

# Each Slack surface module exposes register(app, runtime); features add theirs to this tuple.
SURFACES = (
    runbook_command,
    runbook_actions,
    suggested,
    health_report,
    incident_command,
    maintenance_command,
    guides,
)


def build_bolt_app(rt: Runtime) -> AsyncApp:
    app = AsyncApp(
        client=rt.slack.client,
        request_verification_enabled=False,
        process_before_response=False,
        ignoring_self_events_enabled=True,
    )

    async def handle_unexpected_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("unhandled listener error", error_type=type(error).__name__, exc_info=error)

    app.error(handle_unexpected_error)
    for surface in SURFACES:
        surface.register(app, rt)
    return app
