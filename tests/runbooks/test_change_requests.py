"""Issue 15: a preview that changes nothing says so with no buttons and creates nothing; the per-user change
limit counts confirmed changes only, and the catalog can set it per role."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.app import BotProcess
from bot.ids import ActionId
from sandbox.cluster import SandboxCluster
from sandbox.slack_fake import Message, SlackFake
from tests.conftest import CATALOG_PATH, MakeBot, user_of
from tests.flows import ephemeral_text, final_state, replicas


async def _executions(bot: BotProcess) -> int:
    assert bot.runtime is not None
    async with bot.runtime.db.acquire() as conn:
        return int(await conn.fetchval("SELECT count(*) FROM executions"))


def _previews(slack: SlackFake) -> list[Message]:
    return [m for m in slack.messages("C0OPS") if ActionId.CONFIRM.value in str(m.blocks)]


# One service each: a confirmation runs only while its preview still holds, so previews of one
# deployment confirmed one after another would fail as changed since the preview.
SERVICES = ("backend", "frontend", "email-dashboard", "email-triage")


async def _request_previews(bot: BotProcess, slack: SlackFake, counts: list[int]) -> list[Message]:
    async with user_of(bot, slack, "U0ALICE") as alice:
        for n, (service, count) in enumerate(zip(SERVICES, counts, strict=False), start=1):
            await alice.slash_command(f"scale {service} {count}")
            await slack.wait_for(lambda n=n: len(_previews(slack)) >= n or None, timeout=15)
    return _previews(slack)


def _real_scale_patches(cluster: SandboxCluster) -> list[object]:
    return [r for r in cluster.requests_to("/scale", "PATCH") if "dryRun" not in r.query]


async def test_a_preview_that_changes_nothing_says_so_with_no_buttons_and_creates_nothing(
    bot: BotProcess, slack: SlackFake, cluster: SandboxCluster
) -> None:
    async with user_of(bot, slack, "U0ALICE") as alice:
        await alice.slash_command(f"scale backend {replicas(cluster)}")
        text = await ephemeral_text(slack, "U0ALICE", "no request was created")
    assert "already has" in text and ":warning:" not in text
    assert _previews(slack) == []
    assert await _executions(bot) == 0


async def test_previews_do_not_count_towards_the_change_limit_but_confirmed_changes_do(
    make_bot: MakeBot, slack: SlackFake, cluster: SandboxCluster
) -> None:
    bot = await make_bot(DESTRUCTIVE_REQUESTS_PER_MINUTE="2")
    previews = await _request_previews(bot, slack, [4, 5, 6, 7])  # four previews: over 2, none refused
    assert len(previews) == 4
    async with user_of(bot, slack, "U0ALICE") as alice:
        for message in previews[:2]:
            await alice.block_action(message, ActionId.CONFIRM.value)
            await final_state(slack, message, "succeeded")
        await alice.block_action(previews[2], ActionId.CONFIRM.value)
        refusal = await ephemeral_text(slack, "U0ALICE", "changes confirmed")
    assert "has had 2 changes confirmed" in refusal
    assert len(_real_scale_patches(cluster)) == 2


async def test_the_catalog_sets_the_change_limit_per_role(
    make_bot: MakeBot, slack: SlackFake, cluster: SandboxCluster, tmp_path: Path
) -> None:
    catalog = yaml.safe_load(CATALOG_PATH.read_text())
    catalog["roles"]["operator"]["changes_per_minute"] = 1
    path = tmp_path / "chatops.yml"
    path.write_text(yaml.safe_dump(catalog))
    bot = await make_bot(CHATOPS_CONFIG=str(path))  # DESTRUCTIVE_REQUESTS_PER_MINUTE stays at 10
    previews = await _request_previews(bot, slack, [4, 5])
    async with user_of(bot, slack, "U0ALICE") as alice:
        await alice.block_action(previews[0], ActionId.CONFIRM.value)
        await final_state(slack, previews[0], "succeeded")
        await alice.block_action(previews[1], ActionId.CONFIRM.value)
        refusal = await ephemeral_text(slack, "U0ALICE", "changes confirmed")
    assert "has had 1 changes confirmed" in refusal
    assert len(_real_scale_patches(cluster)) == 1
