"""Slack request signing on its own: the 300 s window on both sides, and every way a signature is wrong."""

from __future__ import annotations

import pytest

from bot.slack import signing

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BODY = b"command=%2Frunbook&text=status+backend"
NOW = 1_700_000_000


def headers(timestamp: str, body: bytes = BODY, secret: str = SECRET) -> dict[str, str]:
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signing.signature(secret, timestamp, body)}


def test_the_signature_is_slacks_v0_hmac() -> None:
    # Slack's documented example (api.slack.com/authentication/verifying-requests-from-slack).
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    assert (
        signing.signature(SECRET, "1531420618", body)
        == "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    )


@pytest.mark.parametrize("skew", [0, 1, signing.MAX_SKEW_SECONDS, -signing.MAX_SKEW_SECONDS])
def test_a_genuine_request_within_the_window_is_accepted(skew: int) -> None:
    assert signing.verify(SECRET, headers(str(NOW + skew)), BODY, now=NOW) is None


@pytest.mark.parametrize("skew", [signing.MAX_SKEW_SECONDS + 1, -signing.MAX_SKEW_SECONDS - 1, 10**6])
def test_a_stale_or_future_timestamp_is_refused(skew: int) -> None:
    assert signing.verify(SECRET, headers(str(NOW + skew)), BODY, now=NOW) is not None


def test_the_window_is_five_minutes() -> None:
    assert signing.MAX_SKEW_SECONDS == 300


@pytest.mark.parametrize(
    "given",
    [
        {},
        {"X-Slack-Request-Timestamp": str(NOW)},
        {"X-Slack-Signature": signing.signature(SECRET, str(NOW), BODY)},
        headers("abc"),
        headers("١٧٠٠٠٠٠٠٠٠"),  # Arabic-Indic digits: isdigit() but not ASCII
        headers(f" {NOW}"),
        headers(str(NOW), secret="another-secret"),
        headers(str(NOW), body=BODY + b"x"),
        {**headers(str(NOW)), "X-Slack-Signature": "v0=" + "0" * 64},
        {**headers(str(NOW)), "X-Slack-Request-Timestamp": str(NOW + 1)},
    ],
)
def test_a_missing_malformed_or_wrong_signature_is_refused(given: dict[str, str]) -> None:
    assert signing.verify(SECRET, given, BODY, now=NOW) is not None
