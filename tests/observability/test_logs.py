"""Error ids reach both the user and the log; request context is in every line; secrets appear nowhere."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import structlog
from pydantic import SecretStr

from bot import logs
from bot.app import BotProcess
from bot.settings import Settings
from sandbox.cluster import SandboxCluster
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import SlackFake
from tests.observability.conftest import CapturedLogs, fetch

NS, BACKEND = "mail-score-production", "mail-score-backend"
ERROR_ID = re.compile(r"Error id `(E-[0-9a-f]+)`")


def json_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            lines.append(event)
    return lines


async def force_unexpected_error(alice: SlackUser, slack: SlackFake, cluster: SandboxCluster) -> str:
    """A read-only command while the API server answers the deployment GET with 200 and a Status body
    (no spec): the status code says success, the body is not a Deployment, and nothing expects that."""
    cluster.inject_fault(f"/deployments/{BACKEND}", status=200, method="GET")
    await alice.slash_command("status backend")

    def shown_id() -> str | None:
        for message in slack.ephemeral_messages("U0ALICE"):
            found = ERROR_ID.search(message.text + str(message.blocks))
            if found:
                return found.group(1)
        return None

    return await slack.wait_for(shown_id, timeout=10)


async def test_unexpected_error_shows_the_same_id_to_the_user_and_in_the_log(
    json_logs: CapturedLogs,
    alice: SlackUser,
    slack: SlackFake,
    cluster: SandboxCluster,
) -> None:
    error_id = await force_unexpected_error(alice, slack, cluster)
    events = json_lines(json_logs.text)
    logged = [e for e in events if e.get("error_id") == error_id]
    assert len(logged) == 1, f"error id {error_id} not logged exactly once"
    event = logged[0]
    assert event["event"] == "unexpected error"
    assert event["level"] == "error"
    assert "Traceback" in event["exception"] and "KeyError" in event["exception"]
    # The request context bound at the web layer reaches the listener's log line.
    assert re.fullmatch(r"[0-9a-f]{12}", event["request_id"])
    assert event["kind"] == "slash_command"
    assert event["user"] == "U0ALICE"
    assert event["channel"] == "C0OPS"
    # Other lines of the same request carry the same request_id.
    same_request = [e for e in events if e.get("request_id") == event["request_id"]]
    assert any(e["event"] == "runbook command" for e in same_request)


async def test_no_secret_in_logs_metrics_readyz_or_slack_after_a_session_with_errors(
    json_logs: CapturedLogs,
    bot: BotProcess,
    alice: SlackUser,
    carol: SlackUser,
    slack: SlackFake,
    cluster: SandboxCluster,
) -> None:
    await force_unexpected_error(alice, slack, cluster)
    slack.fail_next("chat.postMessage", 500, count=5)  # more than slack_sdk retries: the post fails
    await alice.slash_command("status backend")
    await carol.slash_command("scale backend 4")  # refused by policy
    await alice.slash_command("scale backend")  # a usage error
    await slack.wait_for(lambda: len(slack.ephemeral_messages("U0CAROL")) >= 1, timeout=10)
    await slack.wait_for(lambda: len(slack.ephemeral_messages("U0ALICE")) >= 2, timeout=10)

    _, _, exposition = await fetch(bot, "/metrics")
    _, _, readiness = await fetch(bot, "/readyz")
    recorded = json.dumps([c.params for c in slack.calls], default=str)
    assert json_lines(json_logs.text), "the session logged nothing: the check below would prove nothing"
    for secret in json_logs.secrets:
        for where, text in {
            "logs": json_logs.text,
            "metrics": exposition,
            "readyz": readiness,
            "slack": recorded,
        }.items():
            assert secret not in text, f"a configured secret appears in {where}"


def every_secret_setting() -> dict[str, str]:
    """A distinct value for every SecretStr setting, by its environment variable."""
    return {
        field.alias or name: f"secret-{name}-0123456789"
        for name, field in Settings.model_fields.items()
        if field.annotation in (SecretStr, SecretStr | None)
    }


def test_every_configured_secret_is_redacted_wherever_it_appears_in_a_log_line() -> None:
    values = every_secret_setting()
    assert len(values) >= 6  # bot and app token, signing secret, Alertmanager token, database and Redis URLs
    settings = Settings.model_validate(values)
    saved = structlog.get_config()
    stream = io.StringIO()
    logs.configure(level="INFO", fmt="json", secrets=settings.secret_values())
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=stream))
    try:
        log = structlog.get_logger("test")
        for name, secret in values.items():
            log.warning(f"connecting with {secret}", setting=name, url=f"postgresql://u:{secret}@db/x")
    finally:
        structlog.configure(**saved)

    events = json_lines(stream.getvalue())
    assert len(events) == len(values)
    for secret in values.values():
        assert secret not in stream.getvalue()
    assert all(logs.REDACTED in e["event"] and logs.REDACTED in e["url"] for e in events)
