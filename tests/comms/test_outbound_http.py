"""How a Statuspage or PagerDuty answer is read: Retry-After in both forms, and the API's own error words."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.targets.outbound import error_text, retry_after_seconds

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_retry_after_is_read_as_seconds_or_as_an_http_date() -> None:
    assert retry_after_seconds("30", now=NOW) == 30.0
    assert retry_after_seconds("Mon, 02 Mar 2026 08:01:30 GMT", now=NOW) == 90.0
    assert retry_after_seconds("Mon, 02 Mar 2026 07:00:00 GMT", now=NOW) == 0.0  # already past
    assert retry_after_seconds("soon", now=NOW) is None
    assert retry_after_seconds(None, now=NOW) is None


def test_error_text_quotes_what_each_api_says_was_wrong() -> None:
    assert error_text('{"error": "Could not authenticate"}') == "Could not authenticate"
    assert error_text('{"error": ["Name can\'t be blank", "Status is invalid"]}') == (
        "Name can't be blank; Status is invalid"
    )
    pagerduty = (
        '{"status": "invalid event", "message": "Event object is invalid", "errors": ["\'routing_key\' is invalid"]}'
    )
    assert error_text(pagerduty) == "Event object is invalid; 'routing_key' is invalid"
    assert error_text("<html>Bad Gateway</html>") == "<html>Bad Gateway</html>"
    assert len(error_text('{"error": "' + "x" * 5000 + '"}')) == 300
