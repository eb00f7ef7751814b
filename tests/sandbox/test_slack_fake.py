"""The Slack fake over real HTTP: contracts, recording, faults, and slack_sdk talking to it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.models.blocks import ActionsBlock, ButtonElement, SectionBlock
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.slack_fake import FakeConfig, SlackFake


def client_for(fake: SlackFake, **kwargs: Any) -> AsyncWebClient:
    return AsyncWebClient(token=fake.token, base_url=fake.api_url, timeout=5, **kwargs)


async def call(
    http: aiohttp.ClientSession, fake: SlackFake, method: str, token: str | None = None, **params: Any
) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """A raw JSON Web API call, so the tests see exactly what the fake answers."""
    headers = {"Authorization": f"Bearer {token or fake.token}"}
    async with http.post(f"{fake.api_url}{method}", json=params, headers=headers) as resp:
        return resp.status, dict(resp.headers), await resp.json()


def section(text: str = "hello") -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


async def test_a_wrong_token_is_answered_with_invalid_auth(fake: SlackFake, http: aiohttp.ClientSession) -> None:
    status, _, body = await call(http, fake, "auth.test", token="xoxb-wrong")
    assert (status, body) == (200, {"ok": False, "error": "invalid_auth"})


async def test_a_call_without_a_token_is_answered_with_not_authed(fake: SlackFake, http: aiohttp.ClientSession) -> None:
    async with http.post(f"{fake.api_url}auth.test") as resp:
        assert await resp.json() == {"ok": False, "error": "not_authed"}


async def test_valid_blocks_built_with_slack_sdk_models_are_posted(fake: SlackFake) -> None:
    client = client_for(fake)
    blocks = [
        SectionBlock(text="*Scale* backend to 5"),
        ActionsBlock(elements=[ButtonElement(text="Confirm", action_id="confirm", value="1", style="primary")]),
    ]
    resp = await client.chat_postMessage(channel="C0OPS", text="Scale backend to 5", blocks=blocks)
    assert resp["ok"] is True
    stored = fake.last_message("C0OPS")
    assert stored is not None
    assert stored.ts == resp["ts"]
    assert stored.blocks == [b.to_dict() for b in blocks]
    assert resp["message"]["blocks"] == stored.blocks


@pytest.mark.parametrize(
    "blocks",
    [
        pytest.param([section()] * 51, id="51 blocks"),
        pytest.param([section("x" * 3001)], id="3001-char section"),
        pytest.param(
            [
                {
                    "type": "actions",
                    "elements": [
                        {"type": "button", "text": {"type": "plain_text", "text": "b" * 76}, "action_id": "a"}
                    ],
                }
            ],
            id="76-char button",
        ),
        pytest.param([{"type": "not_a_block"}], id="bad type"),
    ],
)
async def test_invalid_blocks_are_rejected_with_invalid_blocks(
    fake: SlackFake, http: aiohttp.ClientSession, blocks: list[dict[str, Any]]
) -> None:
    status, _, body = await call(http, fake, "chat.postMessage", channel="C0OPS", text="t", blocks=blocks)
    assert status == 200
    assert body["ok"] is False
    assert body["error"] == "invalid_blocks"
    assert body["errors"]
    assert fake.messages("C0OPS") == []


async def test_form_encoded_blocks_are_validated_too(fake: SlackFake, http: aiohttp.ClientSession) -> None:
    form = {"token": fake.token, "channel": "C0OPS", "blocks": json.dumps([section("x" * 3001)])}
    async with http.post(f"{fake.api_url}chat.postMessage", data=form) as resp:
        body = await resp.json()
    assert body["error"] == "invalid_blocks"


async def test_link_names_and_parse_full_are_rejected_as_contract_violations(
    fake: SlackFake, http: aiohttp.ClientSession
) -> None:
    _, _, body = await call(http, fake, "chat.postMessage", channel="C0OPS", text="@here", link_names=True)
    assert body["error"] == "invalid_arguments"
    _, _, body = await call(http, fake, "chat.postMessage", channel="C0OPS", text="x", parse="full")
    assert body["error"] == "invalid_arguments"
    assert len(fake.violations) == 2
    assert fake.messages("C0OPS") == []


async def test_message_update_history_is_recorded(fake: SlackFake) -> None:
    client = client_for(fake)
    posted = await client.chat_postMessage(channel="C0OPS", text="step 0/2", blocks=[section("step 0/2")])
    ts = posted["ts"]
    await client.chat_update(channel="C0OPS", ts=ts, text="step 1/2", blocks=[section("step 1/2")])
    await client.chat_update(channel="C0OPS", ts=ts, text="done")  # blocks left out: Slack keeps them
    history = fake.update_history("C0OPS", ts)
    assert [v.text for v in history] == ["step 0/2", "step 1/2", "done"]
    assert [v.via for v in history] == ["chat.postMessage", "chat.update", "chat.update"]
    assert history[-1].blocks == [section("step 1/2")]
    assert fake.message("C0OPS", ts).text == "done"


async def test_updating_an_unknown_message_is_message_not_found(fake: SlackFake) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client_for(fake).chat_update(channel="C0OPS", ts="1.000001", text="x")
    assert raised.value.response["error"] == "message_not_found"


async def test_ts_values_are_unique_and_increasing(fake: SlackFake) -> None:
    client = client_for(fake)
    stamps = [(await client.chat_postMessage(channel="C0OPS", text=str(i)))["ts"] for i in range(20)]
    assert stamps == sorted(stamps, key=float)
    assert len(set(stamps)) == 20
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)


async def test_deterministic_ts_start_gives_slack_shaped_ts() -> None:
    async with SlackFake(FakeConfig(ts_start=1700000000)) as fake:
        resp = await client_for(fake).chat_postMessage(channel="C0OPS", text="x")
    assert resp["ts"] == "1700000000.000100"


async def test_thread_replies_and_ephemeral_messages_are_kept_apart(fake: SlackFake) -> None:
    client = client_for(fake)
    parent = await client.chat_postMessage(channel="C0INCIDENTS", text="Incident opened")
    await client.chat_postMessage(channel="C0INCIDENTS", text="update 1", thread_ts=parent["ts"])
    await client.chat_postEphemeral(channel="C0INCIDENTS", user="U0ALICE", text="only you")
    last = fake.last_message("C0INCIDENTS")
    assert last is not None
    assert last.text == "Incident opened"
    assert [m.text for m in fake.thread_replies("C0INCIDENTS", parent["ts"])] == ["update 1"]
    assert [m.text for m in fake.ephemeral_messages("U0ALICE")] == ["only you"]
    assert fake.ephemeral_messages("U0BOB") == []
    assert fake.message("C0INCIDENTS", parent["ts"]).payload()["reply_count"] == 1


async def test_response_url_allows_five_uses_and_rejects_the_sixth(
    fake: SlackFake, http: aiohttp.ClientSession
) -> None:
    url = fake.new_response_url("C0OPS", "U0ALICE")
    statuses = []
    for i in range(6):
        async with http.post(url, json={"response_type": "ephemeral", "text": f"reply {i}"}) as resp:
            statuses.append((resp.status, (await resp.json())))
    assert [s for s, _ in statuses] == [200] * 5 + [404]
    assert statuses[-1][1]["error"] == "used_url"
    assert len(fake.ephemeral_messages("U0ALICE", "C0OPS")) == 5


async def test_response_url_replace_original_updates_the_clicked_message(
    fake: SlackFake, http: aiohttp.ClientSession
) -> None:
    posted = await client_for(fake).chat_postMessage(channel="C0OPS", text="preview")
    url = fake.new_response_url("C0OPS", "U0BOB", message_ts=posted["ts"])
    async with http.post(url, json={"replace_original": True, "text": "running"}) as resp:
        assert resp.status == 200
    async with http.post(url, json={"replace_original": True, "blocks": [section("x" * 3001)]}) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"] == "invalid_blocks"
    assert [v.text for v in fake.update_history("C0OPS", posted["ts"])] == ["preview", "running"]
    assert fake.violations == []


async def test_rate_limited_call_is_answered_429_with_retry_after_then_succeeds(
    fake: SlackFake, http: aiohttp.ClientSession
) -> None:
    fake.fail_next("chat.postMessage", status=429, retry_after=2)
    status, headers, body = await call(http, fake, "chat.postMessage", channel="C0OPS", text="x")
    assert (status, headers["Retry-After"], body["error"]) == (429, "2", "ratelimited")
    status, _, body = await call(http, fake, "chat.postMessage", channel="C0OPS", text="x")
    assert (status, body["ok"]) == (200, True)


async def test_slack_sdk_with_the_rate_limit_retry_handler_retries_and_succeeds(fake: SlackFake) -> None:
    fake.fail_next("chat.postMessage", status=429, retry_after=0)
    client = client_for(fake, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])
    resp = await client.chat_postMessage(channel="C0OPS", text="after the limit")
    assert resp["ok"] is True
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 200]
    assert len(fake.messages("C0OPS")) == 1


async def test_slack_sdk_without_the_retry_handler_raises_on_429(fake: SlackFake) -> None:
    fake.fail_next("chat.postMessage", status=429, retry_after=0)
    with pytest.raises(SlackApiError) as raised:
        await client_for(fake).chat_postMessage(channel="C0OPS", text="x")
    assert raised.value.response.status_code == 429


async def test_a_server_error_and_an_api_error_can_be_injected(fake: SlackFake) -> None:
    fake.fail_next("users.info", status=500)
    fake.fail_next("users.info", status=200, error="user_not_visible")
    client = client_for(fake)
    for expected in (500, 200):
        with pytest.raises(SlackApiError) as raised:
            await client.users_info(user="U0ALICE")
        assert raised.value.response.status_code == expected
    assert (await client.users_info(user="U0ALICE"))["user"]["name"] == "alice"


async def test_a_dropped_connection_gives_the_client_a_disconnect(fake: SlackFake, http: aiohttp.ClientSession) -> None:
    fake.drop_next("chat.postMessage")
    with pytest.raises(aiohttp.ClientError):
        await call(http, fake, "chat.postMessage", channel="C0OPS", text="x")
    assert fake.calls_to("chat.postMessage")[0].fault == "drop"
    status, _, _ = await call(http, fake, "chat.postMessage", channel="C0OPS", text="x")
    assert status == 200


async def test_a_delay_holds_the_answer_for_that_long(fake: SlackFake, http: aiohttp.ClientSession) -> None:
    fake.delay("auth.test", 0.3, count=1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await call(http, fake, "auth.test")
    assert loop.time() - started >= 0.3
    await call(http, fake, "auth.test")
    # Only the first call was held (a lower bound is safe to assert on a busy machine; an upper one is not).
    assert [c.fault for c in fake.calls_to("auth.test")] == ["delay 0.3", None]


async def test_wait_for_wakes_on_a_call_and_returns_the_predicate_value(fake: SlackFake) -> None:
    async def post_later() -> None:
        await asyncio.sleep(0.05)
        await client_for(fake).chat_postMessage(channel="C0OPS", text="late")

    task = asyncio.create_task(post_later())
    message = await fake.wait_for(lambda: fake.last_message("C0OPS"), timeout=5)
    await task
    assert message.text == "late"


async def test_wait_for_raises_timeout_error_when_nothing_happens(fake: SlackFake) -> None:
    with pytest.raises(TimeoutError, match="condition not met"):
        await fake.wait_for(lambda: fake.last_message("C0OPS"), timeout=0.1)


async def test_post_rate_is_accounted_per_channel(fake: SlackFake) -> None:
    client = client_for(fake)
    for _ in range(3):
        await client.chat_postMessage(channel="C0OPS", text="burst")
    await client.chat_postMessage(channel="C0HEALTH", text="other")
    assert fake.max_posts_in_window("C0OPS") == 3
    assert sum(fake.posts_per_second("C0OPS").values()) == 3
    assert fake.max_posts_in_window("C0HEALTH") == 1


async def test_views_open_needs_a_fresh_unused_trigger_id() -> None:
    now = [100.0]
    async with SlackFake(clock=lambda: now[0]) as fake:
        client = client_for(fake)
        view = {"type": "modal", "title": {"type": "plain_text", "text": "Scale"}, "blocks": [section()]}
        trigger = fake.new_trigger_id("U0ALICE")
        opened = await client.views_open(trigger_id=trigger, view=view)
        assert opened["view"]["id"] in fake.views
        with pytest.raises(SlackApiError, match="trigger_exchanged"):
            await client.views_open(trigger_id=trigger, view=view)
        late = fake.new_trigger_id("U0ALICE")
        now[0] += 3.5
        with pytest.raises(SlackApiError, match="expired_trigger_id"):
            await client.views_open(trigger_id=late, view=view)
        updated = await client.views_update(view_id=opened["view"]["id"], view={**view, "blocks": [section("2")]})
        assert len(fake.views[updated["view"]["id"]].history) == 2


async def test_an_invalid_view_is_rejected(fake: SlackFake) -> None:
    view = {"type": "modal", "title": {"type": "plain_text", "text": "t" * 25}, "blocks": [section()]}
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        await client_for(fake).views_open(trigger_id=fake.new_trigger_id("U0ALICE"), view=view)


async def test_users_usergroups_and_channels_come_from_the_seed(fake: SlackFake) -> None:
    client = client_for(fake)
    assert (await client.users_info(user="U0CAROL"))["user"]["name"] == "carol"
    groups = (await client.usergroups_list(include_users=True))["usergroups"]
    oncall = next(g for g in groups if g["handle"] == "sre-oncall")
    assert (await client.usergroups_users_list(usergroup=oncall["id"]))["users"] == ["U0ALICE"]
    fake.set_usergroup_users(oncall["id"], ["U0BOB"])
    assert (await client.usergroups_users_list(usergroup=oncall["id"]))["users"] == ["U0BOB"]
    assert (await client.conversations_info(channel="C0OPS"))["channel"]["name"] == "ops"
    with pytest.raises(SlackApiError, match="channel_not_found"):
        await client.conversations_info(channel="C0NOPE")
    assert (await client.auth_test())["user_id"] == fake.config.bot_user_id


async def test_files_upload_v2_records_the_uploaded_content(fake: SlackFake) -> None:
    resp = await client_for(fake).files_upload_v2(
        channel="C0HEALTH", content="service,status\nbackend,ok\n", filename="health.csv", title="Health"
    )
    assert resp["ok"] is True
    (uploaded,) = fake.files.values()
    assert uploaded.content == b"service,status\nbackend,ok\n"
    assert (uploaded.filename, uploaded.title, uploaded.channel_id, uploaded.completed) == (
        "health.csv",
        "Health",
        "C0HEALTH",
        True,
    )


async def test_usergroups_list_answers_get_and_post_and_can_fail_until_cleared(
    fake: SlackFake, http: aiohttp.ClientSession
) -> None:
    url, headers = f"{fake.api_url}usergroups.list", {"Authorization": f"Bearer {fake.token}"}
    async with http.get(url, params={"include_disabled": "false"}, headers=headers) as got:  # as slack_sdk sends it
        by_get = await got.json()
    async with http.post(url, data={"include_disabled": "false"}, headers=headers) as posted:
        by_post = await posted.json()
    assert by_get["ok"] and by_get == by_post
    assert {g["handle"] for g in by_get["usergroups"]} >= {"sre-oncall", "engineering"}

    fake.fail_next("usergroups.list", status=502, body="<html>upstream connect error</html>", count=None)
    for _ in range(3):
        async with http.get(url, headers=headers) as failed:
            assert (failed.status, failed.content_type) == (502, "text/plain")
            assert "upstream connect error" in await failed.text()
    fake.clear_faults()
    async with http.get(url, headers=headers) as again:
        assert (await again.json())["ok"]
