"""Our own PostgreSQL lost in the middle of a flow: a guide's change step is refused whole and says why;
a read (a Prometheus chart) still answers, as the status read does."""

from __future__ import annotations

from bot.app import BotProcess
from sandbox.cluster import SandboxCluster
from sandbox.prometheus_fake import PrometheusFake
from sandbox.slack_fake import SlackFake
from tests.conftest import MakeBot, user_of
from tests.flows import ephemeral_text, postgres_down
from tests.slack.test_guides import DASHBOARD, _button, _open, _scale_patches

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def test_a_guides_change_step_with_postgres_down_is_refused_whole_and_names_postgres(
    bot: BotProcess, slack: SlackFake, cluster: SandboxCluster, postgres_url: str, database_url: str
) -> None:
    async with user_of(bot, slack, "U0ALICE") as alice:
        guide = await _open(alice, slack, "guide email-dashboard slow")
        async with postgres_down(postgres_url, database_url):
            answer = await alice.block_action(guide, _button(guide, "Preview", "Scale up pods"))
            assert answer.status == 200
            text = await ephemeral_text(slack, "U0ALICE", "PostgreSQL")
            assert "Traceback" not in text
            assert not [m for m in slack.thread_replies("C0OPS", guide.ts) if "confirm" in str(m.blocks)]

    assert _scale_patches(cluster) == []
    assert bot.runtime is not None
    assert await bot.runtime.executions.recent(service=DASHBOARD, limit=5) == [], "no half-made request"


async def test_a_graph_with_postgres_down_still_uploads_its_chart(
    make_bot: MakeBot, slack: SlackFake, postgres_url: str, database_url: str
) -> None:
    prometheus = PrometheusFake()
    await prometheus.start()
    try:
        bot = await make_bot(PROMETHEUS_URL=prometheus.url)
        async with postgres_down(postgres_url, database_url), user_of(bot, slack, "U0ALICE") as alice:
            await alice.slash_command("graph backend error-rate 1h")
            await slack.wait_for_calls("files.completeUploadExternal", timeout=30)
    finally:
        await prometheus.stop()
    [uploaded] = [f for f in slack.files.values() if f.completed]
    assert uploaded.content is not None and uploaded.content.startswith(PNG_MAGIC)
