"""Structured logging: JSON lines in production, readable lines on a terminal, secrets redacted.

Library loggers (aiohttp, asyncpg, apscheduler, slack_bolt) log through the standard library; their
records are rendered by the same processors, so they are JSON lines too and pass the same redaction.
"""

from __future__ import annotations

import logging
import sys
import urllib.parse
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import structlog

REDACTED = "[redacted]"
MIN_SECRET_CHARS = 6  # shorter values would redact ordinary words


def _with_url_passwords(values: Iterable[str]) -> list[str]:
    """The values, and the password of each that is a URL with one (a library may quote it alone)."""
    found = []
    for value in values:
        found.append(value)
        try:
            password = urllib.parse.urlsplit(value).password
        except ValueError:  # not a URL at all: nothing more to find
            password = None
        if password:
            found.append(urllib.parse.unquote(password))
    return found


class SecretRedactor:
    """Replaces any configured secret value wherever it appears in an event, as a last line of defence."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        for secret in _with_url_passwords(secrets):
            if len(secret) >= MIN_SECRET_CHARS and secret not in self._secrets:
                self._secrets.append(secret)
        # Longest first, so a URL is redacted whole before its password is looked for.
        self._secrets.sort(key=len, reverse=True)

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


_active: SecretRedactor | None = None
_handler: logging.Handler | None = None


def redact_too(secrets: Iterable[str]) -> None:
    """Add values known only once configuration is loaded (the monitored services' DSNs and URLs)."""
    if _active is not None:
        _active.add(secrets)


# Left out of mutation testing: renderers and library log levels are presentation; the redactor's place
# in the chain is tested (tests/observability/test_logs.py) and the redactor itself is mutated.
def configure(
    *, level: str, fmt: str, secrets: Iterable[str], stream: TextIO | None = None
) -> None:  # pragma: no mutate block
    global _active, _handler
    out = stream or sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not out.isatty())
    _active = SecretRedactor(secrets)
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(
            colors=False,
            # Plain tracebacks: the default rich one prints local variables, which may hold secrets.
            exception_formatter=structlog.dev.plain_traceback,
        )
    )
    exc_info = structlog.processors.format_exc_info if use_json else structlog.dev.set_exc_info
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        exc_info,
        _active,
        renderer,
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    # Library loggers at WARNING and above, through the same processors (and the request context).
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *processors[:3]],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, exc_info, _active, renderer],
        )
    )
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)  # configured again (tests, the shell): replace ours, keep others'
    _handler = handler
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
