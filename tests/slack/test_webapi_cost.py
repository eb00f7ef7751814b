"""Issue 20: the per-request costs of the Slack boundary that are ours to avoid."""

from __future__ import annotations

import asyncio

import uvloop

from bot import cli
from bot.slack.webapi import SlackWebApi
from sandbox.slack_fake import SlackFake


class Watched(str):
    """A message text that counts how often something renders it with repr() (as a log line would)."""

    renders = 0

    def __repr__(self) -> str:
        Watched.renders += 1
        return super().__repr__()


async def test_a_web_api_call_and_a_response_url_answer_render_no_unshown_debug_line(slack: SlackFake) -> None:
    # slack_sdk builds a debug line of the whole request (blocks included) unless its logger has a level of
    # its own; nothing shows debug lines of libraries, so that was pure cost on every call.
    Watched.renders = 0
    text = Watched("status of backend")
    api = SlackWebApi(token=slack.token, base_url=slack.api_url, timeout=5)
    try:
        await api.post_message("C0OPS", text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}])
        await api.respond(slack.new_response_url("C0OPS", "U0ALICE"), text)
    finally:
        await api.close()
    assert any(m.text == "status of backend" for m in slack.messages("C0OPS"))
    assert Watched.renders == 0


def test_serving_commands_run_on_uvloop() -> None:
    async def loop_kind() -> type[asyncio.AbstractEventLoop]:
        return type(asyncio.get_running_loop())

    assert cli.run_server(loop_kind()) is uvloop.Loop
