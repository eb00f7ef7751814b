"""The secret redactor on its own: every configured secret, anywhere in any string field of an event."""

from __future__ import annotations

from bot import logs

SECRETS = ["xoxb-123456-abcdef", "signing-secret-0123", "postgresql://u:pw@db/x"]


def test_every_secret_is_replaced_in_every_string_field() -> None:
    redact = logs.SecretRedactor(SECRETS)
    event = {
        "event": f"token {SECRETS[0]} and {SECRETS[1]}",
        "url": SECRETS[2],
        "twice": SECRETS[0] + SECRETS[0],
        "count": 3,
        "none": None,
    }

    cleaned = redact(None, "info", dict(event))

    assert cleaned == {
        "event": f"token {logs.REDACTED} and {logs.REDACTED}",
        "url": logs.REDACTED,
        "twice": logs.REDACTED + logs.REDACTED,
        "count": 3,
        "none": None,
    }


def test_values_too_short_to_be_secrets_are_not_redacted_everywhere() -> None:
    """An unset or tiny value (``""``, ``"a"``) would otherwise blank out every line."""
    redact = logs.SecretRedactor(["", "abcde", "abcdef"])

    assert redact(None, "info", {"event": "abcde abcdef"}) == {"event": f"abcde {logs.REDACTED}"}


def test_without_secrets_events_pass_unchanged() -> None:
    event = {"event": "nothing to hide"}
    assert logs.SecretRedactor([])(None, "info", event) == {"event": "nothing to hide"}
