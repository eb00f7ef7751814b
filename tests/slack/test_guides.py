"""`/runbook guide` over signed HTTP: menus, a section in a thread, steps through the typed-command path."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from bot.app import BotProcess
from bot.comms import guide_events
from bot.ids import ActionId
from bot.store.incidents import PostgresIncidentStore
from sandbox.cluster import SandboxCluster
from sandbox.slack_client import SlackUser, find_buttons
from sandbox.slack_fake import Message, SlackFake
from tests.flows import ephemeral_text

NS, DASHBOARD = "production", "email-dashboard"


def _dashboard_replicas(cluster: SandboxCluster) -> int:
    return int(cluster.deployment(NS, DASHBOARD)["spec"]["replicas"])


def _scale_patches(cluster: SandboxCluster) -> list[object]:
    return [r for r in cluster.requests_to(f"/deployments/{DASHBOARD}/scale", "PATCH") if "dryRun" not in r.query]


async def _open(user: SlackUser, slack: SlackFake, text: str) -> Message:
    before = {m.ts for m in slack.messages("C0OPS")}
    await user.slash_command(text)

    def guide_message() -> Message | None:
        return next(
            (
                m
                for m in slack.messages("C0OPS")
                if m.ts not in before and not m.is_reply and "guide_step" in str(m.blocks)
            ),
            None,
        )

    return await slack.wait_for(guide_message)


def _button(message: Message, label_start: str, title: str) -> str:
    """The action_id of the step button whose section text has `title`."""
    for block in message.blocks:
        accessory = block.get("accessory") or {}
        if title in str(block.get("text")) and str(accessory.get("text", {}).get("text", "")).startswith(label_start):
            return str(accessory["action_id"])
    raise AssertionError(f"no {label_start} button for {title!r}")


async def _in_thread(slack: SlackFake, parent: Message, needle: str) -> Message:
    def found() -> Message | None:
        return next((m for m in slack.thread_replies("C0OPS", parent.ts) if needle in str(m.blocks) + m.text), None)

    return await slack.wait_for(found, timeout=15)


async def test_guide_without_arguments_lists_the_loaded_runbooks(alice: SlackUser, slack: SlackFake) -> None:
    await alice.slash_command("guide")
    text = await ephemeral_text(slack, "U0ALICE", "Runbook guides")
    for name in ("email-dashboard", "mail-score", "email-triage"):
        assert name in text


async def test_picking_a_runbook_shows_its_sections_with_symptoms_then_opens_one(
    alice: SlackUser, slack: SlackFake
) -> None:
    await alice.slash_command("guide")
    menu = await slack.wait_for(
        lambda: next((m for m in slack.ephemeral_messages("U0ALICE") if "Runbook guides" in m.text), None)
    )
    open_dashboard = next(b for b in find_buttons(menu) if "email-dashboard" in (b.value or ""))
    await alice.block_action(menu, open_dashboard.action_id)
    sections = await slack.wait_for(
        lambda: next((m for m in slack.ephemeral_messages("U0ALICE") if "Pick what you see" in str(m.blocks)), None)
    )
    assert "Users Cannot Login" in str(sections.blocks)
    assert "Page load time &gt;5 seconds" in str(sections.blocks), "symptoms are shown, escaped"
    login = next(b for b in find_buttons(sections) if json.loads(b.value or "{}").get("s") == 0)
    await alice.block_action(sections, login.action_id)
    message = await slack.wait_for(lambda: slack.last_message("C0OPS"))
    assert "Users Cannot Login" in message.text
    assert "Login page loads but authentication fails" in str(message.blocks)


async def test_walking_a_guide_runs_diagnosis_in_the_thread_and_confirms_a_resolution_once(
    alice: SlackUser, slack: SlackFake, cluster: SandboxCluster
) -> None:
    message = await _open(alice, slack, 'guide email-dashboard "Slow Performance"')
    blocks = str(message.blocks)
    assert "Browser showing" in blocks and "Diagnosis" in blocks and "Resolution" in blocks
    assert "Performance team if degradation persists" in blocks
    await _in_thread(slack, message, "opened this guide")

    # A read-only step answers at once, in the guide's thread.
    await alice.block_action(message, _button(message, "Run", "CPU and Memory usage"))
    await _in_thread(slack, message, "cpu")

    # A change goes through the preview and Confirm of a typed command, in the thread.
    before = _dashboard_replicas(cluster)
    await alice.block_action(message, _button(message, "Preview", "Scale up pods"))
    preview = await _in_thread(slack, message, ActionId.CONFIRM.value)
    assert _dashboard_replicas(cluster) == before, "the preview changes nothing"
    replies = await asyncio.gather(*(alice.block_action(preview, ActionId.CONFIRM.value) for _ in range(5)))
    assert all(r.status == 200 for r in replies)

    def succeeded() -> Message | None:
        current = slack.message("C0OPS", preview.ts)
        return current if "*succeeded*" in str(current.blocks) else None

    await slack.wait_for(succeeded, timeout=15)
    assert _dashboard_replicas(cluster) == 5
    assert len(_scale_patches(cluster)) == 1, "confirmed exactly once, whatever the clicks"


async def test_a_viewer_may_open_a_guide_but_its_changes_are_refused(
    carol: SlackUser, slack: SlackFake, cluster: SandboxCluster, bot: BotProcess
) -> None:
    message = await _open(carol, slack, "guide email-dashboard slow")
    await carol.block_action(message, _button(message, "Preview", "Scale up pods"))
    text = await ephemeral_text(slack, "U0CAROL", "may not run")
    assert "operator" in text
    assert bot.runtime is not None
    assert await bot.runtime.executions.recent(service=DASHBOARD, limit=5) == []


async def test_the_time_limit_becomes_a_reminder_in_the_thread(
    alice: SlackUser, slack: SlackFake, bot: BotProcess
) -> None:
    message = await _open(alice, slack, "guide email-dashboard Users Cannot Login")
    rt = bot.runtime
    assert rt is not None
    await _in_thread(slack, message, "opened this guide")  # posted once the reminder is scheduled
    assert len(await rt.scheduler.pending(f"guide:C0OPS:{message.ts}")) == 1
    assert await rt.scheduler.run_due(now=rt.clock() + timedelta(minutes=14)) == [], "not before the limit"
    ran = await rt.scheduler.run_due(now=rt.clock() + timedelta(minutes=16))
    assert [job.kind for job in ran] == ["guide-escalation"]
    reminder = await _in_thread(slack, message, "15 minutes since this guide started")
    assert "escalate to" in reminder.text and "On-Call Engineer" in reminder.text


async def test_an_unknown_runbook_or_section_answers_with_usage(alice: SlackUser, slack: SlackFake) -> None:
    await alice.slash_command("guide nonsense")
    text = await ephemeral_text(slack, "U0ALICE", "Unknown runbook")
    assert "/runbook guide [runbook] [section]" in text
    await alice.slash_command("guide email-dashboard quantum flux")
    text = await ephemeral_text(slack, "U0ALICE", "Unknown section")
    assert "Slow Performance" in text


async def test_a_forged_step_button_is_refused_and_nothing_runs(
    alice: SlackUser, slack: SlackFake, cluster: SandboxCluster
) -> None:
    message = await _open(alice, slack, "guide email-dashboard slow")
    action = _button(message, "Preview", "Scale up pods")
    await alice.block_action(message, action, value=json.dumps({"g": "email-dashboard", "s": 1, "i": 99}))
    await ephemeral_text(slack, "U0ALICE", "no longer exists")
    await alice.block_action(message, action, value="not json")
    await asyncio.sleep(0.2)
    assert _scale_patches(cluster) == []


async def test_a_guide_opened_for_an_incident_shows_on_its_timeline(
    alice: SlackUser, slack: SlackFake, bot: BotProcess
) -> None:
    rt = bot.runtime
    assert rt is not None
    incidents = PostgresIncidentStore(rt.db)
    incident = await incidents.create(
        title="Dashboard slow",
        severity="P2",
        impact="",
        services=["email-dashboard"],
        lead="U0ALICE",
        declared_by="U0ALICE",
        channel_id="C0INCIDENTS",
        at=rt.clock(),
    )
    message = await _open(alice, slack, f"guide email-dashboard slow --incident {incident.id}")
    assert f"For incident #{incident.id}" in str(message.blocks)
    await alice.block_action(message, _button(message, "Run", "CPU and Memory usage"))
    await _in_thread(slack, message, "cpu")

    async def guide_entries() -> list[str]:
        return [e.text for e in await incidents.timeline(incident.id) if e.kind == "guide"]

    async with asyncio.timeout(5):  # the timeline entry is written right after the step answers
        while len(await guide_entries()) < 2:  # noqa: ASYNC110 - polls PostgreSQL; no event to await
            await asyncio.sleep(0.05)
    assert [guide_events.read(text) for text in await guide_entries()] == [  # data; incident_timeline words it
        guide_events.Opened("Email Dashboard Support Runbook", "Issue 2: Slow Performance / Timeouts"),
        guide_events.Step("top email-dashboard"),
    ]


async def test_a_guide_for_an_unknown_incident_is_refused(alice: SlackUser, slack: SlackFake) -> None:
    await alice.slash_command("guide email-dashboard slow --incident 999")
    await ephemeral_text(slack, "U0ALICE", "No open incident #999")
    assert slack.last_message("C0OPS") is None
