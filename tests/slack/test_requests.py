"""The HTTP edge: signatures, content types, sizes, replays, health and readiness, usage errors."""

from __future__ import annotations

import aiohttp
import pytest
import redis.asyncio as aioredis

from bot.app import BotProcess
from bot.slack import signing
from sandbox.cluster import SandboxCluster
from sandbox.slack_client import SlackUser, Tamper
from sandbox.slack_fake import SlackFake
from tests.conftest import user_of


@pytest.mark.parametrize(
    "tamper",
    [Tamper.stale(), Tamper.future(), Tamper.non_numeric(), Tamper.wrong_signature(), Tamper.unsigned()],
    ids=["stale", "future", "non-numeric", "forged", "unsigned"],
)
async def test_bad_signatures_get_401_and_nothing_runs(alice: SlackUser, slack: SlackFake, tamper: Tamper) -> None:
    reply = await alice.slash_command("status backend", tamper=tamper)
    assert reply.status == 401
    assert slack.calls_to("chat.postMessage") == []


async def test_replayed_request_is_refused(alice: SlackUser, bot: BotProcess) -> None:
    body = b"command=%2Frunbook&text=help&user_id=U0ALICE&channel_id=C0OPS&team_id=T0SANDBOX"
    headers = alice.signed_headers(body)
    url = f"http://127.0.0.1:{bot.port}/slack/events"
    async with aiohttp.ClientSession() as session:
        form = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
        first = await session.post(url, data=body, headers=form)
        second = await session.post(url, data=body, headers=form)
    assert first.status == 200
    assert second.status == 401


async def test_a_signature_is_remembered_for_as_long_as_it_stays_valid(
    alice: SlackUser, bot: BotProcess, redis_url: str
) -> None:
    """A request timestamped up to 300 s ahead verifies until 300 s after its timestamp: the replay record
    must outlive that, or the same request could be replayed once the record is gone."""
    assert bot.runtime is not None
    ahead = signing.MAX_SKEW_SECONDS - 1
    body = b"command=%2Frunbook&text=help&user_id=U0ALICE&channel_id=C0OPS&team_id=T0SANDBOX"
    headers = alice.signed_headers(body, Tamper.future(ahead))
    async with aiohttp.ClientSession() as session:
        first = await session.post(
            f"http://127.0.0.1:{bot.port}/slack/events",
            data=body,
            headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
        )
    assert first.status == 200

    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        keys = [k async for k in client.scan_iter(f"{bot.runtime.settings.redis_prefix}once:sig:*")]
        assert len(keys) == 1
        remembered = await client.ttl(keys[0])
    finally:
        await client.aclose()
    stays_valid_for = ahead + signing.MAX_SKEW_SECONDS
    assert remembered >= stays_valid_for - 5  # a few seconds pass between the request and this look


async def test_wrong_content_type_and_oversized_bodies_are_refused(alice: SlackUser, bot: BotProcess) -> None:
    url = f"http://127.0.0.1:{bot.port}/slack/events"
    async with aiohttp.ClientSession() as session:
        text_body = b"hello"
        wrong = await session.post(
            url, data=text_body, headers={**alice.signed_headers(text_body), "Content-Type": "text/plain"}
        )
        big = b"text=" + b"a" * (600 * 1024)
        huge = await session.post(
            url,
            data=big,
            headers={**alice.signed_headers(big), "Content-Type": "application/x-www-form-urlencoded"},
        )
    assert wrong.status == 415
    assert huge.status == 413


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"{not json", "application/json"), (b"payload=%5B1%5D", "application/x-www-form-urlencoded")],
    ids=["broken-json", "payload-not-an-object"],
)
async def test_signed_but_malformed_bodies_get_400(
    alice: SlackUser, bot: BotProcess, slack: SlackFake, body: bytes, content_type: str
) -> None:
    async with aiohttp.ClientSession() as session:
        reply = await session.post(
            f"http://127.0.0.1:{bot.port}/slack/events",
            data=body,
            headers={**alice.signed_headers(body), "Content-Type": content_type},
        )
    assert reply.status == 400
    assert [c.method for c in slack.calls if c.method != "auth.test"] == []


async def test_healthz_and_readyz_answer_without_secrets(bot: BotProcess) -> None:
    async with aiohttp.ClientSession() as session:
        health = await session.get(f"http://127.0.0.1:{bot.port}/healthz")
        ready = await session.get(f"http://127.0.0.1:{bot.port}/readyz")
        body = await ready.text()
    assert health.status == 200
    assert ready.status == 200
    assert '"postgres": "ok"' in body
    assert '"redis": "ok"' in body
    assert bot.settings.slack_bot_token.get_secret_value() not in body


async def test_unknown_procedure_answers_in_the_ack_with_the_closest_match(alice: SlackUser) -> None:
    reply = await alice.slash_command("scael backend 5")
    assert reply.status == 200
    body = str(reply.json())
    assert "`scale`" in body
    assert "Usage" in body


async def test_unknown_service_lists_the_services(alice: SlackUser) -> None:
    reply = await alice.slash_command("status backnd")
    body = str(reply.json())
    assert "Did you mean `backend`" in body
    assert "email-dashboard" in body


async def test_user_text_in_errors_cannot_ping_the_channel(alice: SlackUser) -> None:
    reply = await alice.slash_command("<!channel> now")
    body = str(reply.json())
    assert "<!channel>" not in body
    assert "&lt;!channel&gt;" in body


async def test_out_of_range_replicas_explain_the_service_limits(alice: SlackUser) -> None:
    reply = await alice.slash_command("scale backend 500")
    body = str(reply.json())
    assert "between 1 and 20 for backend" in body


async def test_help_and_list_show_only_what_the_caller_may_run(carol: SlackUser, slack: SlackFake) -> None:
    reply = await carol.slash_command("help scale")
    assert "scale" in str(reply.json())
    await carol.slash_command("list")
    listing = await slack.wait_for(lambda: next(iter(slack.ephemeral_messages("U0CAROL")), None))
    text = str(listing.blocks)
    assert "status" in text
    assert "/runbook scale" not in text


async def test_kubernetes_404_names_the_object_and_namespace(
    alice: SlackUser, slack: SlackFake, cluster: SandboxCluster
) -> None:
    cluster.inject_fault("/deployments/mail-score-backend", status=404, times=5)
    await alice.slash_command("status backend")
    message = await slack.wait_for(lambda: next(iter(slack.ephemeral_messages("U0ALICE")), None))
    assert "mail-score-backend" in message.text
    assert "mail-score-production" in message.text


async def test_someone_without_a_role_cannot_read_history_or_health(bot: BotProcess, slack: SlackFake) -> None:
    async with user_of(bot, slack, "U0STRANGER") as stranger:
        for command in ("history backend", "health"):
            await stranger.slash_command(command)

    def both_refused() -> list[str] | None:
        texts = [m.text for m in slack.ephemeral_messages("U0STRANGER") if "needs role `viewer`" in m.text]
        return texts if len(texts) == 2 else None

    refusals = await slack.wait_for(both_refused)
    assert any("execution history" in t for t in refusals)
    assert any("health checks" in t for t in refusals)
    assert slack.calls_to("chat.postMessage") == []
