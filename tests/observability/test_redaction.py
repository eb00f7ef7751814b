"""The secret redactor on its own: every configured secret, anywhere in any string field of an event."""

from __future__ import annotations

import io
import json

import structlog

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


def log_with(fmt: str, level: str) -> str:
    """What one warning and one info line look like with the CLI's logging set-up, secrets configured."""
    saved = structlog.get_config()
    stream = io.StringIO()
    logs.configure(level=level, fmt=fmt, secrets=SECRETS)
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=stream))
    try:
        log = structlog.get_logger("test")
        log.warning("careful", token=SECRETS[0])
        log.info("fyi")
    finally:
        structlog.configure(**saved)
    return stream.getvalue()


def test_json_lines_carry_level_and_time_and_no_secret() -> None:
    [line] = [json.loads(raw) for raw in log_with("json", "WARNING").splitlines()]

    assert (line["event"], line["level"], line["token"]) == ("careful", "warning", logs.REDACTED)
    assert line["timestamp"].endswith("Z")


def test_the_level_filters_lines() -> None:
    assert len(log_with("json", "INFO").splitlines()) == 2
    assert len(log_with("json", "ERROR").splitlines()) == 0


def test_auto_format_is_json_when_not_on_a_terminal_and_console_is_not_json() -> None:
    # pytest captures stderr, so it is not a terminal here.
    assert json.loads(log_with("auto", "WARNING"))["event"] == "careful"
    console = log_with("console", "WARNING")
    assert "careful" in console
    assert not console.lstrip().startswith("{")
    assert SECRETS[0] not in console
