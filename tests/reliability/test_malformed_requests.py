"""Issue 15: malformed requests at the HTTP edge get a 4xx, never a 500, a traceback or a held connection."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest

from bot.app import BotProcess
from sandbox.slack_client import SlackUser, Tamper
from sandbox.slack_fake import SlackFake
from tests.alerts.conftest import TOKEN
from tests.conftest import MakeBot


async def test_a_five_thousand_digit_timestamp_is_a_401_without_a_traceback(
    alice: SlackUser, slack: SlackFake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    reply = await alice.slash_command("status backend", tamper=Tamper(timestamp="9" * 5000))
    assert reply.status == 401
    assert [r for r in caplog.records if r.exc_info] == []
    assert slack.calls_to("chat.postMessage") == []


async def test_a_signed_payload_nested_three_thousand_deep_is_a_400(alice: SlackUser, bot: BotProcess) -> None:
    body = b"payload=" + b"%5B" * 3000
    async with aiohttp.ClientSession() as session:
        reply = await session.post(
            f"http://127.0.0.1:{bot.port}/slack/events",
            data=body,
            headers={**alice.signed_headers(body), "Content-Type": "application/x-www-form-urlencoded"},
        )
    assert reply.status == 400


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bytes:
    """What the server sent before closing the connection (fails if it is still open after `seconds`)."""
    async with asyncio.timeout(seconds):
        return await reader.read()


@pytest.mark.parametrize("path", ["/slack/events", "/alerts/alertmanager"])
async def test_a_client_that_sends_its_headers_slowly_is_cut_off(make_bot: MakeBot, path: str) -> None:
    bot = await make_bot(HTTP_READ_TIMEOUT="1", ALERTMANAGER_TOKEN=TOKEN)
    reader, writer = await asyncio.open_connection("127.0.0.1", bot.port)
    try:
        writer.write(f"POST {path} HTTP/1.1\r\nHost: x\r\n".encode())  # and never the rest
        await writer.drain()
        assert await _closed_within(reader, 30) == b""
    finally:
        writer.close()


@pytest.mark.parametrize("path", ["/slack/events", "/alerts/alertmanager"])
async def test_a_client_that_sends_its_body_slowly_gets_a_408(make_bot: MakeBot, path: str) -> None:
    bot = await make_bot(HTTP_READ_TIMEOUT="1", ALERTMANAGER_TOKEN=TOKEN)
    reader, writer = await asyncio.open_connection("127.0.0.1", bot.port)
    try:
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{".encode()
        )
        await writer.drain()
        async with asyncio.timeout(30):
            status_line = await reader.readline()
        await _closed_within(reader, 30)  # after lingering for the rest of the body as long as the read timeout
    finally:
        writer.close()
    assert status_line.startswith(b"HTTP/1.1 408"), status_line
