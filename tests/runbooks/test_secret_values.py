"""Issue 14 item 2: env and ConfigMap values are masked everywhere the bot writes them (preview, progress,
outcome, history, audit, logs) unless the catalog's `shown_values` lists the name; a keyed fingerprint
keeps "changed / unchanged" visible; valueFrom values are never read."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import asyncpg
import pytest
import structlog

from bot import logs
from bot.app import BotProcess
from bot.ids import ActionId
from sandbox.cluster import SandboxCluster
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import SlackFake
from tests.flows import BACKEND, NS, ephemeral_text, final_state, preview_message

OLD, NEW = "sk_live_OLDsecret4242", "sk_live_NEWsecret1717"
CHANGE = re.compile(r"STRIPE_API_KEY: `secret:([0-9a-f]{8})` → `secret:([0-9a-f]{8})`")


@pytest.fixture
def captured_logs(bot: BotProcess) -> Iterator[io.StringIO]:
    """The production logging set-up at DEBUG, written to a buffer instead of stderr."""
    saved = structlog.get_config()
    stream = io.StringIO()
    logs.configure(level="DEBUG", fmt="json", secrets=[])
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=stream))
    try:
        yield stream
    finally:
        structlog.configure(**saved)


def _seed_env(cluster: SandboxCluster) -> None:
    """The backend container holds a live key and a password that comes from a Secret."""
    deployment = cluster.store.get("deployments", NS, BACKEND)
    assert deployment is not None
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [
        *(container.get("env") or []),
        {"name": "STRIPE_API_KEY", "value": OLD},
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "backend-db", "key": "password"}}},
    ]
    cluster.store.put("deployments", deployment)
    cluster.settle()


async def _everything_stored(database_url: str) -> str:
    conn = await asyncpg.connect(database_url)
    try:
        audit_rows = await conn.fetch("SELECT kind, detail::text AS detail FROM audit_log ORDER BY seq")
        executions = await conn.fetch("SELECT preview::text AS preview, steps::text AS steps, error FROM executions")
    finally:
        await conn.close()
    return "\n".join(
        [*(r["detail"] for r in audit_rows), *(f"{r['preview']} {r['steps']} {r['error']}" for r in executions)]
    )


async def test_a_secrets_old_and_new_value_never_reach_slack_the_audit_log_or_the_logs(
    alice: SlackUser, slack: SlackFake, cluster: SandboxCluster, database_url: str, captured_logs: io.StringIO
) -> None:
    _seed_env(cluster)
    await alice.slash_command(f"set-env backend STRIPE_API_KEY {NEW}")
    preview = await preview_message(slack)
    shown = str(preview.blocks) + preview.text
    assert OLD not in shown and NEW not in shown
    found = CHANGE.search(shown)
    assert found is not None, shown
    old_fp, new_fp = found.groups()
    assert old_fp != new_fp, "a masked value still shows that it changes"

    await alice.block_action(preview, ActionId.CONFIRM.value)
    final = await final_state(slack, preview, "succeeded")
    container = cluster.deployment(NS, BACKEND)["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "STRIPE_API_KEY", "value": NEW} in container["env"], "the real value was set"

    # Setting it again to the same value: "unchanged" is visible through the same fingerprint (a preview
    # that changes nothing is an ephemeral answer and creates no request).
    await alice.slash_command(f"set-env backend STRIPE_API_KEY {NEW}")
    again = await ephemeral_text(slack, "U0ALICE", "already")
    assert f"secret:{new_fp}" in again

    await alice.slash_command("history backend")
    history = await slack.wait_for(
        lambda: next((m for m in slack.messages("C0OPS") if "Latest" in str(m.blocks)), None)
    )

    written = [
        *(str(v.blocks) + (v.text or "") for v in slack.update_history("C0OPS", preview.ts)),
        str(final.blocks),
        again,
        str(history.blocks) + str(slack.ephemeral_messages("U0ALICE")),
        await _everything_stored(database_url),
        captured_logs.getvalue(),
    ]
    for place in written:
        assert OLD not in place and NEW not in place, place[:500]
    assert f"secret:{new_fp}" in str(history.blocks)


async def test_values_the_catalog_marks_safe_are_shown_and_value_from_is_never_read(
    alice: SlackUser, slack: SlackFake, cluster: SandboxCluster
) -> None:
    _seed_env(cluster)
    await alice.slash_command("set-env backend LOG_LEVEL debug")
    preview = await preview_message(slack)
    assert "`(unset)` → `debug`" in str(preview.blocks)
    await alice.block_action(preview, ActionId.CANCEL.value)

    await alice.slash_command("set-env backend DB_PASSWORD hunter2")
    second = await slack.wait_for(
        lambda: next(
            (m for m in slack.messages("C0OPS") if "DB_PASSWORD" in str(m.blocks) and m.ts != preview.ts), None
        )
    )
    assert "DB_PASSWORD: `(from a reference)` → `" in str(second.blocks), second.blocks[1]
    assert "hunter2" not in str(second.blocks)
    secret_reads = [r for r in cluster.requests_to("/secrets")]
    assert secret_reads == [], "a valueFrom is never resolved"
