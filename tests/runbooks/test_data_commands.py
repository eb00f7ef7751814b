"""Issue 21 over signed HTTP: the Postgres and Redis triage commands typed in Slack, answered by the bot
through the Slack fake, acting on the real embedded PostgreSQL and Redis."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
import redis.asyncio as aioredis

from bot.app import BotProcess
from bot.ids import ActionId
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import Message, SlackFake
from tests.data_world import older_than, running
from tests.flows import double_click, ephemeral_text, final_state, preview_message, step_summaries

SECRET_SQL = "SELECT pg_sleep(600), 'password=hunter2' AS note, 4111111111111111 AS card"


async def reply(slack: SlackFake, user: str, needle: str) -> str:
    """The bot's answer containing `needle`, in the channel or only to `user`."""

    def found() -> str | None:
        for message in [*slack.messages("C0OPS"), *slack.ephemeral_messages(user)]:
            text = str(message.blocks) + message.text
            if needle in text:
                return text
        return None

    return await slack.wait_for(found, timeout=15)


async def test_db_activity_and_db_ready_answer_with_masked_queries(
    carol: SlackUser, slack: SlackFake, backend_dsn: str
) -> None:
    async with running(backend_dsn, SECRET_SQL) as (pid, _):
        await carol.slash_command("db-activity backend")  # a viewer may read
        text = await reply(slack, "U0CAROL", f"{pid}")
    assert "Timeout:PgSleep" in text and "active" in text
    assert "pg_sleep(?)" in text
    assert "hunter2" not in text and "4111111111111111" not in text

    await carol.slash_command("db-ready backend")
    assert "primary" in await reply(slack, "U0CAROL", "accepting connections")


async def test_unreachable_database_is_one_line_naming_it(
    carol: SlackUser, slack: SlackFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAIL_SCORE_DATABASE_URL", "postgresql://nobody@127.0.0.1:9/none")
    await carol.slash_command("db-ready backend")
    text = await reply(slack, "U0CAROL", "is unavailable")
    assert "the PostgreSQL of backend (MAIL_SCORE_DATABASE_URL)" in text


async def test_redis_info_shows_hit_rate_memory_clients_ops_and_evictions(
    carol: SlackUser, slack: SlackFake, dashboard_redis: aioredis.Redis
) -> None:
    await dashboard_redis.set("email:1", "x")
    await dashboard_redis.get("email:1")
    await dashboard_redis.get("email:2")
    await carol.slash_command("redis-info email-dashboard")
    text = await reply(slack, "U0CAROL", "hit rate")
    for label in ("memory", "clients", "ops/s", "evicted keys"):
        assert label in text


async def test_clear_cache_previews_count_and_samples_then_unlinks_after_confirm(
    alice: SlackUser, slack: SlackFake, dashboard_redis: aioredis.Redis
) -> None:
    await dashboard_redis.mset({f"email:{i}": "x" for i in range(700)})
    await dashboard_redis.set("session:keep", "x")
    await alice.slash_command("clear-cache email-dashboard email:*")
    preview = await preview_message(slack)
    assert "Would unlink 700 keys matching" in str(preview.blocks)
    assert "email:" in str(preview.blocks)
    assert await dashboard_redis.dbsize() == 701, "the preview deletes nothing"
    await alice.block_action(preview, ActionId.CONFIRM.value)
    await final_state(slack, preview, "succeeded")
    assert await dashboard_redis.keys("*") == [b"session:keep"]


async def test_clear_cache_with_a_pattern_the_catalog_does_not_allow_lists_the_allowed_ones(
    alice: SlackUser, slack: SlackFake, dashboard_redis: aioredis.Redis, bot: BotProcess
) -> None:
    await dashboard_redis.set("session:keep", "x")
    await alice.slash_command("clear-cache email-dashboard session:*")
    text = await ephemeral_text(slack, "U0ALICE", "allowed")
    assert "email:*" in text
    assert bot.runtime is not None
    assert await bot.runtime.executions.recent(service="email-dashboard", limit=5) == []
    assert await dashboard_redis.exists("session:keep")


async def test_queue_purge_needs_a_second_person_and_an_allowed_queue(
    alice: SlackUser, bob: SlackUser, slack: SlackFake, dashboard_redis: aioredis.Redis
) -> None:
    await dashboard_redis.rpush("export:queue", "a", "b", "c")
    await alice.slash_command("queue-purge email-dashboard export:other")
    assert "export:queue" in await ephemeral_text(slack, "U0ALICE", "allowed")

    await alice.slash_command("queue-purge email-dashboard export:queue")
    preview = await preview_message(slack)
    assert "`3 jobs` → `0 jobs`" in str(preview.blocks)
    await alice.block_action(preview, ActionId.CONFIRM.value)
    await ephemeral_text(slack, "U0ALICE", "second person")
    assert await dashboard_redis.llen("export:queue") == 3
    await bob.block_action(preview, ActionId.CONFIRM.value)
    final = await final_state(slack, preview, "succeeded")
    assert "U0BOB" in str(final.blocks)
    assert await dashboard_redis.exists("export:queue") == 0


@pytest.mark.slow
async def test_terminate_queries_lists_exact_sessions_and_a_second_persons_double_click_ends_only_those_once(
    alice: SlackUser, bob: SlackUser, slack: SlackFake, backend_dsn: str, database_url: str
) -> None:
    """Slow (about 12 s): a query's age cannot be faked, so the query really runs past the 10 s threshold."""
    async with running(backend_dsn, SECRET_SQL) as (long_pid, long_task):
        await older_than(backend_dsn, long_pid, 10)
        async with running(backend_dsn, "SELECT pg_sleep(600)") as (young_pid, young_task):
            await alice.slash_command("terminate-queries backend 10s")
            preview: Message = await preview_message(slack)
            shown = str(preview.blocks)
            assert f"session pid {long_pid}" in shown and "query since" in shown and "connected" in shown
            assert f"pid {young_pid}" not in shown
            assert "hunter2" not in shown

            await alice.block_action(preview, ActionId.CONFIRM.value)
            await ephemeral_text(slack, "U0ALICE", "second person")
            assert not long_task.done()
            await double_click(slack, bob, preview)
            final = await final_state(slack, preview, "succeeded")
            with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, ConnectionError)):
                await asyncio.wait_for(long_task, 10)
            assert not young_task.done(), "a session the preview did not list is never terminated"
    assert "Terminated 1 sessions" in str(final.blocks)
    assert "hunter2" not in str(final.blocks)
    # The double click ran the step once: one backend terminated, by one run.
    assert await step_summaries(database_url, "terminate-queries") == [
        "Terminated 1 sessions whose query has run for more than 10 s"
    ]
