"""Issue 14.7: when Slack's user groups cannot be read, people named in a role keep it and roles that
come from a group fail closed with a clear answer (never "Something went wrong")."""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import BotProcess
from sandbox.cluster import SandboxCluster
from sandbox.slack_fake import SlackFake
from sandbox.slack_fake_records import FakeUser
from tests.conftest import user_of
from tests.flows import preview_message, real_scale_patches

DAVE = "U0DAVE"  # an operator only through the @sre-oncall user group

FAILURES = {
    "missing scope": {"status": 200, "error": "missing_scope"},
    "server error": {"status": 500},
    "non-JSON body": {"status": 503, "body": "upstream connect error or disconnect/reset before headers"},
    "non-JSON 200": {"status": 200, "body": "OK"},
}


async def answer_to(slack: SlackFake, user: str, needle: str) -> str:
    def found() -> str | None:
        return next((m.text for m in slack.ephemeral_messages(user) if needle in m.text), None)

    # slack_sdk retries a 5xx a few times with backoff before the bot gives up on the lookup.
    return await slack.wait_for(found, timeout=20)


@pytest.mark.parametrize("failure", FAILURES.values(), ids=FAILURES.keys())
async def test_usergroups_outage_keeps_named_users_and_fails_group_roles_closed(
    bot: BotProcess, slack: SlackFake, cluster: SandboxCluster, failure: dict[str, Any]
) -> None:
    slack.users[DAVE] = FakeUser(DAVE, "dave", "Dave Example")
    slack.set_usergroup_users("S0SREONCALL", ["U0ALICE", DAVE])
    slack.fail_next("usergroups.list", count=None, **failure)
    async with user_of(bot, slack, DAVE) as dave, user_of(bot, slack, "U0ALICE") as alice:
        await dave.slash_command("scale backend 5")
        refusal = await answer_to(slack, DAVE, "cannot check @sre-oncall membership right now")
        assert "role `operator`" in refusal and "Nothing was done" in refusal
        # Alice is named in the operator role: Slack's group outage does not concern her.
        await alice.slash_command("scale backend 5")
        await preview_message(slack)
    everything = [m.text for user in ("U0ALICE", DAVE) for m in slack.ephemeral_messages(user)]
    assert not [text for text in everything if "Something went wrong" in text]
    assert real_scale_patches(cluster) == []
