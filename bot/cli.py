"""`runbook-bot`: serve | socket | shell | migrate | check-config | audit verify."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence

import structlog

from bot import errors, logs
from bot.app import BotProcess, load_configuration
from bot.embedded import EmbeddedServers
from bot.settings import Settings, load_settings
from bot.store import audit
from bot.store.db import Database

log = structlog.get_logger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="runbook-bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="HTTP mode: POST /slack/events, /healthz, /readyz on $PORT")
    sub.add_parser("socket", help="Socket Mode with the same listeners (needs SLACK_APP_TOKEN)")
    sub.add_parser("migrate", help="apply database migrations and exit")
    sub.add_parser("check-config", help="validate catalog, procedures and templates; list every problem")
    audit_cmd = sub.add_parser("audit", help="audit log tools")
    audit_sub = audit_cmd.add_subparsers(dest="audit_command", required=True)
    audit_sub.add_parser("verify", help="check the audit log's hash chain; non-zero when broken")
    shell = sub.add_parser("shell", help="the whole bot against a local Slack fake and sandbox cluster")
    shell.add_argument("--as", dest="as_user", default="alice", help="alice | bob | carol | a Slack user id")
    shell.add_argument("--script", help="run the lines of FILE instead of a prompt")
    shell.add_argument("--channel", default=None, help="channel id to type in (default: the ops channel)")
    return parser


def _secrets(settings: Settings) -> list[str]:
    values = [
        settings.slack_bot_token,
        settings.slack_signing_secret,
        settings.slack_app_token,
        settings.alertmanager_token,
        settings.value_fingerprint_key,
        settings.database_url,
        settings.redis_url,
    ]
    return [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]


def _stop_on_signals() -> asyncio.Event:
    """SIGTERM (a rolling update of the bot) or SIGINT sets the event; the process then shuts down in
    order: running executions get the grace period, the rest are marked interrupted and freed."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _serve(settings: Settings) -> int:
    process = BotProcess(settings)
    stop = _stop_on_signals()
    try:
        await process.start()
        await process.serve_http(settings.host, settings.port)
        await stop.wait()
    finally:
        await process.stop()
    return 0


async def _socket(settings: Settings) -> int:
    from bot.slack.socket_mode import AcknowledgingSocketModeHandler

    if not settings.slack_app_token.get_secret_value():
        raise errors.ConfigError(["environment variable SLACK_APP_TOKEN: required for Socket Mode (xapp-…)"])
    process = BotProcess(settings)
    stop = _stop_on_signals()
    handler: AcknowledgingSocketModeHandler | None = None
    try:
        await process.start()
        # /healthz, /readyz (and /metrics) still answer over HTTP in Socket Mode.
        await process.serve_http(settings.host, settings.port)
        assert process.bolt is not None
        handler = AcknowledgingSocketModeHandler(process.bolt, settings.slack_app_token.get_secret_value())
        await handler.connect_async()  # type: ignore[no-untyped-call]
        await stop.wait()
    finally:
        if handler is not None:
            await handler.close_async()  # type: ignore[no-untyped-call]  # stop accepting first
        await process.stop()
    return 0


async def _migrate(settings: Settings) -> int:
    embedded = EmbeddedServers(settings.data_dir)
    url = settings.database_url.get_secret_value() if settings.database_url else embedded.postgres_url()
    db = Database(url, timeout=settings.db_timeout)
    try:
        await db.open()
        applied = await db.migrate()
        print(f"applied: {', '.join(applied) if applied else 'nothing (up to date)'}")
    finally:
        await db.close()
        embedded.close()
    return 0


async def _audit_verify(settings: Settings) -> int:
    embedded = EmbeddedServers(settings.data_dir)
    url = settings.database_url.get_secret_value() if settings.database_url else embedded.postgres_url()
    db = Database(url, timeout=settings.db_timeout)
    try:
        await db.open()
        report = await audit.verify(db)
    finally:
        await db.close()
        embedded.close()
    if report.ok:
        print(f"audit log intact: {report.rows} rows, hash chain verified")
        return 0
    print(f"audit log BROKEN ({report.rows} rows read):", file=sys.stderr)
    for problem in report.problems:
        print(f"  - {problem}", file=sys.stderr)
    return 1


def _check_config(settings: Settings) -> int:
    catalog, _, procedures = load_configuration(settings)
    print(f"configuration OK: {len(catalog.services)} services, {len(procedures)} procedures")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        logs.configure(level=settings.log_level, fmt=settings.log_format, secrets=_secrets(settings))
        if args.command == "check-config":
            return _check_config(settings)
        if args.command == "migrate":
            return asyncio.run(_migrate(settings))
        if args.command == "audit":
            return asyncio.run(_audit_verify(settings))
        if args.command == "socket":
            return asyncio.run(_socket(settings))
        if args.command == "shell":
            from bot.sandbox import shell

            return asyncio.run(shell.run(settings, as_user=args.as_user, script=args.script, channel=args.channel))
        return asyncio.run(_serve(settings))
    except errors.ConfigError as exc:
        print(f"runbook-bot: {exc}", file=sys.stderr)
        return 2
    except errors.UnavailableError as exc:
        print(f"runbook-bot: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        with contextlib.suppress(Exception):
            print("", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
