"""The user side: Slack's signing, payload shapes, and a real Bolt app driven end to end."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.slack_client import SlackUser, Tamper, find_button, sign
from sandbox.slack_fake import SlackFake

SECRET = "sandbox-signing-secret"

# Slack's worked example from its "Verifying requests from Slack" documentation, byte for byte.
EXAMPLE_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
EXAMPLE_TIMESTAMP = "1531420618"
EXAMPLE_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
EXAMPLE_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def test_signing_matches_slacks_worked_example() -> None:
    assert sign(EXAMPLE_SECRET, EXAMPLE_TIMESTAMP, EXAMPLE_BODY) == EXAMPLE_SIGNATURE


@dataclass
class Recorder:
    """A stand-in bot that checks signatures with slack_sdk's own verifier and keeps what came in."""

    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    verifier: SignatureVerifier = field(default_factory=lambda: SignatureVerifier(SECRET))

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append((dict(request.headers), body))
        if not self.verifier.is_valid_request(body, dict(request.headers)):
            return web.Response(status=401, text="invalid signature")
        return web.Response(text="")


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[Recorder, str]]:
    rec = Recorder()
    app = web.Application()
    app.router.add_post("/slack/events", rec.handle)
    runner, url = await serve(app)
    yield rec, url
    await runner.cleanup()


async def test_a_slash_command_is_form_encoded_with_slacks_fields_and_signed(
    fake: SlackFake, recorder: tuple[Recorder, str]
) -> None:
    rec, url = recorder
    async with SlackUser(url, fake, SECRET) as slack:
        reply = await slack.slash_command("scale backend 5", user_id="U0BOB", channel_id="C0OPS")
    assert reply.status == 200
    headers, body = rec.requests[0]
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
    assert list(form) == [
        "token",
        "team_id",
        "team_domain",
        "channel_id",
        "channel_name",
        "user_id",
        "user_name",
        "command",
        "text",
        "api_app_id",
        "is_enterprise_install",
        "response_url",
        "trigger_id",
    ]
    assert (form["command"], form["text"], form["user_name"], form["channel_name"]) == (
        "/runbook",
        "scale backend 5",
        "bob",
        "ops",
    )
    assert form["response_url"].startswith(fake.url)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(Tamper.stale(), id="stale timestamp"),
        pytest.param(Tamper.future(), id="future timestamp"),
        pytest.param(Tamper.wrong_signature(), id="wrong signature"),
        pytest.param(Tamper.unsigned(), id="no signature"),
    ],
)
async def test_tampered_requests_fail_slacks_own_verification(
    fake: SlackFake, recorder: tuple[Recorder, str], tamper: Tamper
) -> None:
    _, url = recorder
    async with SlackUser(url, fake, SECRET) as slack:
        reply = await slack.slash_command("status backend", tamper=tamper)
    assert reply.status == 401


async def test_a_non_numeric_timestamp_is_sent_as_given(fake: SlackFake, recorder: tuple[Recorder, str]) -> None:
    rec, url = recorder
    async with SlackUser(url, fake, SECRET) as slack:
        await slack.slash_command("x", tamper=Tamper.non_numeric())
    assert rec.requests[0][0]["X-Slack-Request-Timestamp"] == "not-a-number"


async def test_an_event_retry_carries_slacks_retry_headers(fake: SlackFake, recorder: tuple[Recorder, str]) -> None:
    rec, url = recorder
    async with SlackUser(url, fake, SECRET) as slack:
        reply = await slack.event_callback(
            {"type": "app_mention", "user": "U0ALICE", "text": "hi", "channel": "C0OPS"},
            event_id="Ev0SAME",
            retry_num=1,
            retry_reason="http_timeout",
        )
    assert reply.status == 200
    headers, body = rec.requests[0]
    assert (headers["X-Slack-Retry-Num"], headers["X-Slack-Retry-Reason"]) == ("1", "http_timeout")
    envelope = json.loads(body)
    assert (envelope["type"], envelope["event_id"], envelope["event"]["type"]) == (
        "event_callback",
        "Ev0SAME",
        "app_mention",
    )


def bolt_app(fake: SlackFake) -> AsyncApp:
    """A minimal real Bolt app: a /runbook preview with buttons, a Confirm that updates it, a modal."""
    app = AsyncApp(client=AsyncWebClient(token=fake.token, base_url=fake.api_url), signing_secret=SECRET)

    @app.command("/runbook")
    async def handle_runbook_command(ack: Any, command: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        if command["text"] == "form":
            await client.views_open(
                trigger_id=command["trigger_id"],
                view={
                    "type": "modal",
                    "callback_id": "scale_modal",
                    "title": {"type": "plain_text", "text": "Scale"},
                    "submit": {"type": "plain_text", "text": "Scale"},
                    "blocks": [
                        {
                            "type": "input",
                            "block_id": "replicas",
                            "label": {"type": "plain_text", "text": "Replicas"},
                            "element": {"type": "plain_text_input", "action_id": "value"},
                        }
                    ],
                },
            )
            return
        await client.chat_postMessage(
            channel=command["channel_id"],
            text=f"Preview: {command['text']}",
            blocks=[
                {"type": "section", "text": {"type": "mrkdwn", "text": f"Preview: {command['text']}"}},
                {
                    "type": "actions",
                    "block_id": "decision",
                    "elements": [
                        {
                            "type": "button",
                            "text": {"type": "plain_text", "text": "Confirm"},
                            "action_id": "confirm",
                            "value": "exec-1",
                            "style": "primary",
                        },
                        {
                            "type": "button",
                            "text": {"type": "plain_text", "text": "Cancel"},
                            "action_id": "cancel",
                        },
                    ],
                },
            ],
        )

    @app.action("confirm")
    async def handle_confirm_action(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        value = body["actions"][0]["value"]
        await respond(replace_original=True, text=f"Confirmed {value} by <@{body['user']['id']}>")

    @app.view("scale_modal")
    async def handle_scale_view(ack: Any, view: dict[str, Any], body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        replicas = view["state"]["values"]["replicas"]["value"]["value"]
        await client.chat_postMessage(channel="C0OPS", text=f"{body['user']['id']} asked for {replicas}")

    return app


@pytest.fixture
async def bolt(fake: SlackFake) -> AsyncIterator[str]:
    runner, url = await serve(bolt_app(fake).web_app(path="/slack/events"))
    yield url
    await runner.cleanup()


async def test_a_real_bolt_app_runs_a_command_and_a_confirm_click_against_the_fake(fake: SlackFake, bolt: str) -> None:
    async with SlackUser(bolt, fake, SECRET) as slack:
        ack = await slack.slash_command("scale backend 5")
        assert ack.status == 200
        preview = await fake.wait_for(lambda: fake.last_message("C0OPS"))
        assert find_button(preview, label="confirm").action_id == "confirm"

        click = await slack.click(preview, "Confirm", user_id="U0BOB")
        assert click.status == 200
        assert click.payload["message"]["ts"] == preview.ts
        await fake.wait_for(lambda: len(fake.update_history("C0OPS", preview.ts)) == 2)
    assert fake.message("C0OPS", preview.ts).text == "Confirmed exec-1 by <@U0BOB>"
    assert fake.violations == []


async def test_a_real_bolt_app_rejects_a_tampered_command_before_any_api_call(fake: SlackFake, bolt: str) -> None:
    async with SlackUser(bolt, fake, SECRET) as slack:
        reply = await slack.slash_command("scale backend 5", tamper=Tamper.wrong_signature())
    assert reply.status == 401
    assert fake.calls_to("chat.postMessage") == []


async def test_a_modal_opened_by_the_bot_can_be_submitted(fake: SlackFake, bolt: str) -> None:
    async with SlackUser(bolt, fake, SECRET) as slack:
        await slack.slash_command("form")
        (stored,) = await fake.wait_for(lambda: list(fake.views.values()))
        reply = await slack.view_submission(stored.view, {"replicas": {"value": "7"}})
        assert reply.status == 200
        message = await fake.wait_for(lambda: fake.last_message("C0OPS"))
    assert message.text == "U0ALICE asked for 7"


async def test_a_click_on_an_ephemeral_message_has_no_message_in_the_payload(
    fake: SlackFake, recorder: tuple[Recorder, str]
) -> None:
    rec, url = recorder
    await AsyncWebClient(token=fake.token, base_url=fake.api_url).chat_postEphemeral(
        channel="C0OPS",
        user="U0ALICE",
        text="Only you can see this",
        blocks=[
            {
                "type": "actions",
                "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Retry"}, "action_id": "retry"}],
            }
        ],
    )
    (ephemeral,) = fake.ephemeral_messages("U0ALICE")
    async with SlackUser(url, fake, SECRET) as slack:
        reply = await slack.block_action(ephemeral, "retry")
    payload = json.loads(parse_qs(rec.requests[0][1].decode())["payload"][0])
    assert reply.status == 200
    assert payload["container"] == {
        "type": "message",
        "message_ts": ephemeral.ts,
        "channel_id": "C0OPS",
        "is_ephemeral": True,
    }
    assert "message" not in payload
    assert payload["actions"][0]["action_id"] == "retry"


async def test_finding_a_button_that_is_not_there_names_the_buttons_that_are(fake: SlackFake) -> None:
    message = {
        "blocks": [
            {
                "type": "actions",
                "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Cancel"}, "action_id": "c"}],
            }
        ]
    }
    with pytest.raises(LookupError, match=r"Cancel \(c\)"):
        find_button(message, label="Confirm")
