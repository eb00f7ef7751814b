"""Issue 15: library loggers (aiohttp, asyncpg, apscheduler, slack_bolt) write JSON lines through the same
processors as ours, request context and redaction included; the monitored services' DSNs and Redis URLs
and PROMETHEUS_URL are redacted like the bot's own secrets."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
import structlog

from bot import logs
from sandbox.slack_fake import SlackFake
from tests.conftest import MakeBot, user_of
from tests.observability.test_logs import json_lines

SERVICE_DSN = "postgresql://scorer:dsn-password-4711@db.internal:5432/scores"
SERVICE_REDIS = "redis://:redis-password-0815@cache.internal:6379/0"
PROMETHEUS = "http://metrics:prom-password-42@prometheus.internal:9090"


@pytest.fixture
def log_buffer(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """Production logging set-up (JSON) into a buffer, configured before the bot starts; restored after."""
    monkeypatch.setenv("MAIL_SCORE_DATABASE_URL", SERVICE_DSN)
    monkeypatch.setenv("EMAIL_TRIAGE_REDIS_URL", SERVICE_REDIS)
    saved, root = structlog.get_config(), logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    logs.configure(level="INFO", fmt="json", secrets=["test-signing-secret-0123456789"], stream=stream)
    try:
        yield stream
    finally:
        structlog.configure(**saved)
        root.handlers, root.level = saved_handlers, saved_level


async def test_a_library_warning_is_a_json_line_with_the_request_context(
    log_buffer: io.StringIO, make_bot: MakeBot, slack: SlackFake
) -> None:
    bot = await make_bot()
    async with user_of(bot, slack, "U0ALICE") as alice:
        reply = await alice.slash_command("help", command="/not-in-manifest")
    assert reply.status == 404
    unhandled = [e for e in json_lines(log_buffer.getvalue()) if "Unhandled request" in str(e.get("event"))]
    assert unhandled, log_buffer.getvalue()[-2000:]
    assert unhandled[0]["logger"].startswith("slack_bolt")
    assert unhandled[0]["level"] == "warning"
    assert unhandled[0]["user"] == "U0ALICE"  # bound at the web layer, merged into library lines too


@pytest.mark.parametrize("library", ["asyncpg", "aiohttp.server", "apscheduler.scheduler"])
async def test_service_dsns_redis_urls_and_prometheus_url_are_redacted_in_library_lines(
    log_buffer: io.StringIO, make_bot: MakeBot, library: str
) -> None:
    await make_bot(PROMETHEUS_URL=PROMETHEUS)  # loading the catalog names the services' variables
    try:
        raise ConnectionError(f"lost {SERVICE_DSN}")
    except ConnectionError:
        logging.getLogger(library).exception("connecting to %s and %s failed", SERVICE_REDIS, PROMETHEUS)
    text = log_buffer.getvalue()
    line = next(e for e in json_lines(text) if e.get("logger") == library)
    assert "[redacted]" in line["event"] and "[redacted]" in line["exception"]
    for secret in ("dsn-password-4711", "redis-password-0815", "prom-password-42", "db.internal"):
        assert secret not in text
