"""Structured logging: JSON lines in production, readable lines on a terminal, secrets redacted."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog

REDACTED = "[redacted]"


class SecretRedactor:
    """Replaces any configured secret value wherever it appears in an event, as a last line of defence."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets = [s for s in secrets if len(s) >= 6]

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            for secret in self._secrets:
                value = value.replace(secret, REDACTED)
        return value

    def __call__(self, _: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        if self._secrets:
            for key, value in list(event.items()):
                event[key] = self._clean(value)
        return event


# Left out of mutation testing: renderers and library log levels are presentation; the redactor's place
# in the chain is tested (tests/observability/test_logs.py) and the redactor itself is mutated.
def configure(*, level: str, fmt: str, secrets: Iterable[str]) -> None:  # pragma: no mutate block
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info if use_json else structlog.dev.set_exc_info,
        SecretRedactor(secrets),
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(
            colors=False,
            # Plain tracebacks: the default rich one prints local variables, which may hold secrets.
            exception_formatter=structlog.dev.plain_traceback,
        ),
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    # Library loggers (slack_bolt, aiohttp) go through the standard library at WARNING and above.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
