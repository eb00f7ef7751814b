"""The redactor when one secret contains another (a URL and its password) and for secrets added
once configuration is loaded: nothing of either may remain in the line."""

from __future__ import annotations

import io
import json
import logging

import structlog

from bot import logs

DSN = "postgresql://mailscore:s3cret-pw-99@db.internal:5432/app"


def test_a_url_is_redacted_whole_and_its_password_alone_too() -> None:
    redact = logs.SecretRedactor([DSN])

    cleaned = redact(None, "warning", {"url": DSN, "event": "auth failed for s3cret-pw-99"})

    assert cleaned == {"url": logs.REDACTED, "event": f"auth failed for {logs.REDACTED}"}


def test_the_longest_secret_is_replaced_first_whatever_the_order_given() -> None:
    redact = logs.SecretRedactor(["token-abc", "token-abcdef-123", "zzzzzz-token-abc"])

    cleaned = redact(None, "info", {"event": "token-abcdef-123 zzzzzz-token-abc token-abc"})

    assert cleaned == {"event": " ".join([logs.REDACTED] * 3)}


def test_secrets_known_only_after_configuration_are_redacted_too() -> None:
    saved, root = structlog.get_config(), logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    logs.configure(level="INFO", fmt="json", secrets=[], stream=stream)
    try:
        logs.redact_too(["grafana-api-key-0042"])
        structlog.get_logger("test").warning("calling grafana with grafana-api-key-0042")
    finally:
        structlog.configure(**saved)
        root.handlers, root.level = saved_handlers, saved_level

    assert json.loads(stream.getvalue())["event"] == f"calling grafana with {logs.REDACTED}"
