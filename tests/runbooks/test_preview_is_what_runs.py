"""Issue 14 item 3: a confirmation acts on exactly what its preview showed. If the world changed in a way
that changes the effect, the run stops and says what changed; query text is shown with literals masked."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from bot.ids import ActionId
from bot.store.db import create_database
from sandbox.cluster import SandboxCluster
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import Message, SlackFake
from tests.data_world import older_than, running
from tests.flows import BACKEND, NS, final_state, preview_message, real_scale_patches, replicas

SECRET_SQL = "SELECT pg_sleep(600), 'password=hunter2' AS note, 4111111111111111 AS card"


def _scale_out_of_band(cluster: SandboxCluster, to: int) -> None:
    """Someone else (an HPA, a colleague's kubectl) changes the replicas after the preview."""
    deployment = cluster.store.get("deployments", NS, BACKEND)
    assert deployment is not None
    deployment["spec"]["replicas"] = to
    cluster.store.put("deployments", deployment)
    cluster.settle()


async def test_a_confirm_after_the_replicas_changed_stops_and_says_what_changed(
    alice: SlackUser, slack: SlackFake, cluster: SandboxCluster
) -> None:
    assert replicas(cluster) == 3
    await alice.slash_command("scale backend 5")
    preview = await preview_message(slack)
    assert "`3` → `5`" in str(preview.blocks)
    _scale_out_of_band(cluster, 4)

    await alice.block_action(preview, ActionId.CONFIRM.value)
    final = await final_state(slack, preview, "failed")
    assert "replicas was 3 at the preview, now 4" in str(final.blocks)
    assert "new preview" in str(final.blocks)
    assert replicas(cluster) == 4 and real_scale_patches(cluster) == [], "nothing ran"

    await alice.slash_command("scale backend 5")  # a new preview, from what is there now
    fresh = await slack.wait_for(
        lambda: next((m for m in slack.messages("C0OPS") if "`4` → `5`" in str(m.blocks)), None)
    )
    await alice.block_action(fresh, ActionId.CONFIRM.value)
    await final_state(slack, fresh, "succeeded")
    assert replicas(cluster) == 5


async def test_a_confirmed_scale_checks_its_own_read_instead_of_repeating_the_dry_run(
    alice: SlackUser, slack: SlackFake, cluster: SandboxCluster
) -> None:
    """Issue 20: after the Confirm click, one GET (compared with the preview's replicas), one PATCH, the rollout
    wait; no second dry run. With the preview's two requests that is 6, kubectl's dry run + scale + rollout
    status make 7."""
    await alice.slash_command("scale backend 5")
    preview = await preview_message(slack)
    preview_requests = [r for r in cluster.requests if "/namespaces/" in r.path]
    assert [(r.method, "dryRun" in r.query) for r in preview_requests] == [("GET", False), ("PATCH", True)]
    confirmed_from = len(cluster.requests)

    await alice.block_action(preview, ActionId.CONFIRM.value)
    await final_state(slack, preview, "succeeded")
    after = [r for r in cluster.requests[confirmed_from:] if "/namespaces/" in r.path]
    assert not [r for r in after if "dryRun" in r.query], "the confirmation repeats no dry run"
    assert [r.method for r in after if r.path.endswith(f"/deployments/{BACKEND}")] == ["GET"]
    assert len(real_scale_patches(cluster)) == 1 and replicas(cluster) == 5
    assert len(preview_requests) + len(after) <= 7


async def _new_preview(slack: SlackFake, besides: set[str]) -> Message:
    def found() -> Message | None:
        return next(
            (m for m in slack.messages("C0OPS") if ActionId.CONFIRM.value in str(m.blocks) and m.ts not in besides),
            None,
        )

    return await slack.wait_for(found, timeout=15)


@pytest.mark.slow
async def test_kill_long_queries_cancels_only_what_its_preview_showed(
    alice: SlackUser,
    slack: SlackFake,
    database_url: str,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Slow (about 20 s): a query's age cannot be faked, so the queries really run past the 10 s threshold."""
    dsn = await create_database(postgres_url)
    monkeypatch.setenv("MAIL_SCORE_DATABASE_URL", dsn)  # backend's postgres_dsn_env, read when a step runs
    async with running(dsn, SECRET_SQL) as (early, early_task):
        # A second query 6 s younger: past the threshold at the confirm, not at the preview (which
        # comes within a second or two of the first query passing it).
        await asyncio.sleep(6)
        async with running(dsn, "SELECT pg_sleep(600)") as (late, late_task):
            await older_than(dsn, early, 10)
            await alice.slash_command("kill-long-queries backend 10s")
            first = await _new_preview(slack, set())
            assert f"query pid {early}" in str(first.blocks) and f"query pid {late}" not in str(first.blocks)

            await older_than(dsn, late, 10)
            await alice.block_action(first, ActionId.CONFIRM.value)
            stopped = await final_state(slack, first, "failed")
            assert f"query pid {late} was not in the preview" in str(stopped.blocks)
            assert not early_task.done() and not late_task.done(), "a changed world cancels nothing"

            await alice.slash_command("kill-long-queries backend 10s")
            second = await _new_preview(slack, {first.ts})
            await alice.block_action(second, ActionId.CONFIRM.value)
            done = await final_state(slack, second, "succeeded")
            for task in (early_task, late_task):
                with pytest.raises(asyncpg.QueryCanceledError):
                    await asyncio.wait_for(task, 10)

    shown = str(done.blocks)
    assert f"{early}" in shown and "postgres" in shown, "pid and user stay"
    conn = await asyncpg.connect(database_url)
    try:
        stored = " ".join(
            [
                *(r["detail"] for r in await conn.fetch("SELECT detail::text AS detail FROM audit_log")),
                *(r["steps"] for r in await conn.fetch("SELECT steps::text AS steps FROM executions")),
            ]
        )
    finally:
        await conn.close()
    for place in (shown, stored):
        assert "hunter2" not in place and "4111111111111111" not in place
