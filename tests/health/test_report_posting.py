"""The report through the running bot: posted once across replicas, on schedule and on demand."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import yaml

from bot.app import BotProcess
from bot.catalog import Catalog
from bot.ids import ActionId
from bot.scheduler import Scheduler
from bot.settings import PROJECT_ROOT
from bot.slack import health_report
from bot.store.jobs import PostgresJobStore
from sandbox.blockkit import iter_elements
from sandbox.cluster import SandboxCluster
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import RESPONSE_URL_METHOD, SlackFake
from tests.conftest import CATALOG_PATH, MakeBot, user_of
from tests.flows import BUSY
from tests.health.conftest import HttpTargets, with_health_urls

HTTP_PHRASE = 'health_http: "HTTP {{ status }} in {{ latency_ms }} ms"'


@dataclasses.dataclass(frozen=True)
class Replica:
    scheduler: Scheduler
    health: health_report.HealthRuntime


def replica(bot: BotProcess, catalog: Catalog, replica_id: str) -> Replica:
    """A second view of the bot as another replica would run it: its own scheduler, same database."""
    assert bot.runtime is not None
    assert bot.health is not None
    rt = bot.runtime
    other = Replica(
        scheduler=Scheduler(PostgresJobStore(rt.db), clock=rt.clock, replica_id=replica_id),
        health=dataclasses.replace(bot.health, catalog=catalog),
    )
    health_report.register(other.scheduler, other.health)
    return other


async def test_two_scheduler_instances_post_the_daily_report_once(
    bot: BotProcess, slack: SlackFake, cluster: SandboxCluster, catalog: Catalog, http_targets: HttpTargets
) -> None:
    test_catalog = with_health_urls(catalog, {}, http_targets.url("/ok"))
    first, second = replica(bot, test_catalog, "replica-a"), replica(bot, test_catalog, "replica-b")
    fire_at = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # 09:00 in Europe/Berlin
    ran = await asyncio.gather(
        first.scheduler.run_cron_fire(health_report.JOB_ID, fire_at),
        second.scheduler.run_cron_fire(health_report.JOB_ID, fire_at),
    )
    assert sorted(ran) == [False, True]
    summaries = [m for m in slack.messages("C0HEALTH") if not m.is_reply]
    assert len(summaries) == 1
    assert "Daily health report" in summaries[0].text
    assert "09:00" in str(summaries[0].blocks)
    replies = slack.thread_replies("C0HEALTH", summaries[0].ts)
    assert replies, "details are in the thread"


def catalog_with_health_urls(tmp_path: Path, urls: dict[str, str], default: str) -> Path:
    """chatops.yml with every service's health_url pointing at the loopback targets."""
    data = yaml.safe_load(CATALOG_PATH.read_text(encoding="utf-8"))
    for name, service in data["services"].items():
        service["health_url"] = urls.get(name, default)
    path = tmp_path / "chatops.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


async def test_health_on_demand_goes_through_the_command_and_posts_in_the_asking_channel(
    make_bot: MakeBot, slack: SlackFake, http_targets: HttpTargets, tmp_path: Path
) -> None:
    config = catalog_with_health_urls(tmp_path, {"backend": http_targets.url("/broken")}, http_targets.url("/ok"))
    bot = await make_bot(CHATOPS_CONFIG=str(config))

    async with user_of(bot, slack, "U0ALICE") as alice:
        await alice.slash_command("health backend")
        message = await slack.wait_for(lambda: slack.last_message("C0OPS"), timeout=15)

    assert "Health of backend" in message.text
    values = [el["value"] for _, el in iter_elements(message.blocks) if el.get("type") == "button"]
    assert '{"p":"restart","a":"backend"}' in values


async def test_health_needs_the_viewer_role(bot: BotProcess, slack: SlackFake) -> None:
    answered = len(slack.calls_to(RESPONSE_URL_METHOD))
    async with user_of(bot, slack, "U0NOBODY") as stranger:
        await stranger.slash_command("health backend")
        await slack.wait_for_calls(RESPONSE_URL_METHOD, count=answered + 1, timeout=15)

    assert slack.calls_to("chat.postMessage") == []  # no report, in any channel


async def test_health_for_an_unknown_service_says_which_exist(alice: SlackUser, slack: SlackFake) -> None:
    await alice.slash_command("health bakcend")
    message = await slack.wait_for(lambda: (slack.ephemeral_messages("U0ALICE") or [None])[-1])
    assert "Did you mean `backend`" in message.text


async def test_a_suggested_fix_clicked_while_the_bot_is_busy_is_told_so_and_requests_nothing(
    make_bot: MakeBot, slack: SlackFake, http_targets: HttpTargets, tmp_path: Path
) -> None:
    config = catalog_with_health_urls(tmp_path, {"backend": http_targets.url("/broken")}, http_targets.url("/ok"))
    bot = await make_bot(CHATOPS_CONFIG=str(config), FOLLOWUP_WORKERS="1", FOLLOWUP_QUEUE="1")
    async with user_of(bot, slack, "U0ALICE") as alice:
        await alice.slash_command("health backend")
        report = await slack.wait_for(lambda: slack.last_message("C0OPS"), timeout=15)
        await slack.wait_for(lambda: slack.thread_replies("C0OPS", report.ts) or None, timeout=15)  # its last post
        # The one worker waits on a slow Slack answer (status backend) and one request waits behind it: the
        # queue is full.
        slack.delay("chat.postMessage", 5.0, count=1)
        await alice.slash_command("status backend")
        async with asyncio.timeout(15):  # polled: the fake's wait_for wakes on answers, and this one is held
            while True:
                if [c for c in slack.calls_to("chat.postMessage") if not c.status]:
                    break
                await asyncio.sleep(0.01)
        await alice.slash_command("status frontend")
        posted = len(slack.calls_to("chat.postMessage"))

        click = await alice.block_action(report, ActionId.RUN_SUGGESTED.value, value='{"p":"restart","a":"backend"}')

        assert click.status == 200
        await slack.wait_for(lambda: [m for m in slack.ephemeral_messages("U0ALICE") if BUSY in m.text] or None, 15)
        await slack.wait_for(lambda: len([c for c in slack.calls_to("chat.postMessage") if c.status]) > posted, 15)
    assert bot.runtime is not None
    assert await bot.runtime.executions.recent(service="backend", limit=5) == [], "no restart was requested"


async def test_a_team_rewords_a_health_check_in_its_phrase_book_and_the_posted_report_says_it(
    make_bot: MakeBot, slack: SlackFake, http_targets: HttpTargets, tmp_path: Path
) -> None:
    config = catalog_with_health_urls(tmp_path, {"backend": http_targets.url("/broken")}, http_targets.url("/ok"))
    folder = tmp_path / "templates"
    shutil.copytree(PROJECT_ROOT / "templates", folder)
    book = folder / "phrases.yml"
    reworded = 'health_http: "answered {{ status }} after {{ latency_ms }} ms"'
    book.write_text(book.read_text(encoding="utf-8").replace(HTTP_PHRASE, reworded), encoding="utf-8")
    bot = await make_bot(CHATOPS_CONFIG=str(config), RUNBOOK_TEMPLATES_DIR=str(folder))

    async with user_of(bot, slack, "U0ALICE") as alice:
        await alice.slash_command("health backend")
        message = await slack.wait_for(lambda: slack.last_message("C0OPS"), timeout=15)

    shown = json.dumps(message.blocks)
    assert "http: answered 503 after " in shown
    assert "HTTP 503" not in shown
