"""`runbook-bot`: serve | socket | shell | migrate | check-config | actions | rbac | audit verify | import."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import signal
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

import structlog
import uvloop

from bot import catalog_outbound, errors, logs, rbac, workers
from bot.actions import reference
from bot.app import BotProcess, load_configuration
from bot.embedded import EmbeddedServers
from bot.guides.loader import load_guides
from bot.settings import Settings, load_settings
from bot.store import audit
from bot.store.db import Database

log = structlog.get_logger(__name__)

T = TypeVar("T")


def run_server(main: Coroutine[Any, Any, T]) -> T:
    """Run a serving command on uvloop: the event loop and socket I/O in C cost a request markedly less CPU
    than asyncio's own loop (bench/README.md, issue 20 round 3)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="runbook-bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="HTTP mode: POST /slack/events, /healthz, /readyz on $PORT")
    serve.add_argument(
        "--workers", type=int, default=1, help="serving processes sharing $PORT (SO_REUSEPORT); one per core"
    )
    serve.add_argument(workers.WORKER_FLAG, dest="reuse_port", action="store_true", help=argparse.SUPPRESS)
    sub.add_parser("socket", help="Socket Mode with the same listeners (needs SLACK_APP_TOKEN)")
    sub.add_parser("migrate", help="apply database migrations and exit")
    sub.add_parser("check-config", help="validate catalog, procedures and templates; list every problem")
    actions = sub.add_parser("actions", help="list every action: its target kind, what it needs, its parameters")
    actions.add_argument("--markdown", action="store_true", help="as the table docs/procedures.md embeds")
    rbac = sub.add_parser("rbac", help="least-privilege Role + RoleBinding per namespace, from the catalog")
    rbac.add_argument("--service-account", default="runbook-bot", help="the bot's ServiceAccount name")
    rbac.add_argument("--namespace", default="runbook-bot", help="the namespace the bot runs in")
    audit_cmd = sub.add_parser("audit", help="audit log tools")
    audit_sub = audit_cmd.add_subparsers(dest="audit_command", required=True)
    audit_sub.add_parser("verify", help="check the audit log's hash chain; non-zero when broken")
    importer = sub.add_parser("import", help="turn a markdown runbook into a guide and proposals, for review")
    importer.add_argument("runbook", type=Path, help="the runbook (markdown)")
    importer.add_argument("--out", type=Path, default=Path("imported"), help="output directory (default ./imported)")
    importer.add_argument("--name", default=None, help="the guide's name (default: from the runbook's title)")
    shell = sub.add_parser("shell", help="the whole bot against a local Slack fake and sandbox cluster")
    shell.add_argument("--as", dest="as_user", default="alice", help="alice | bob | carol | a Slack user id")
    shell.add_argument("--script", help="run the lines of FILE instead of a prompt")
    shell.add_argument("--channel", default=None, help="channel id to type in (default: the ops channel)")
    return parser


def _stop_on_signals() -> asyncio.Event:
    """SIGTERM (a rolling update of the bot) or SIGINT sets the event; the process then shuts down in
    order: running executions get the grace period, the rest are marked interrupted and freed."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _serve(settings: Settings, *, reuse_port: bool = False) -> int:
    process = BotProcess(settings)
    stop = _stop_on_signals()
    try:
        await process.start()
        gc.freeze()  # the catalog, procedures, templates and clients: they live as long as the process
        await process.serve_http(settings.host, settings.port, reuse_port=reuse_port)
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
        gc.freeze()  # as in _serve
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
    guides = load_guides(settings.guides_dir, procedures, catalog)
    print(f"configuration OK: {len(catalog.services)} services, {len(procedures)} procedures, {len(guides)} guides")
    # Secrets come from the environment of the serving process, which may not be this shell's: an unset one
    # is named, and status page updates and pages wait in the outbox ("pending, retrying") until it is set.
    for unset in catalog_outbound.unset_env(catalog.statuspage, catalog.pagerduty, os.environ):
        print(f"warning: {unset} (until it is, the calls that need it wait in the outbox)", file=sys.stderr)
    for warning in catalog_outbound.maintenance_warnings(catalog.statuspage, catalog.services, os.environ):
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _shell(settings: Settings, args: argparse.Namespace) -> int:
    # The sandbox (Slack fake, sandbox cluster) is a development package next to bot/, not part of
    # the product: a source checkout's dev install has it, the wheel and the image do not.
    try:
        from sandbox import shell
    except ModuleNotFoundError as exc:
        if exc.name != "sandbox":
            raise
        print(
            "runbook-bot: the shell needs the sandbox package of a source checkout; "
            "run scripts/shell.sh there (or `pip install -e ./sandbox`)",
            file=sys.stderr,
        )
        return 2
    return shell.main(settings, as_user=args.as_user, script=args.script, channel=args.channel)


def _actions(settings: Settings, markdown: bool) -> int:
    _, registry, _ = load_configuration(settings)
    print(reference.markdown_table(registry).rstrip("\n") if markdown else "\n".join(reference.plain_lines(registry)))
    return 0


def _rbac(settings: Settings, account: str, namespace: str) -> int:
    catalog, _, procedures = load_configuration(settings)
    print(rbac.render(catalog, procedures, account=account, account_namespace=namespace), end="")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    # The modules imported so far live as long as the process: kept out of the collector's sweeps, which
    # would otherwise walk them again and again while start-up builds the configuration (about a tenth of
    # a start's CPU). What start() builds is frozen once it is up (_serve, _socket).
    gc.freeze()
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        logs.configure(level=settings.log_level, fmt=settings.log_format, secrets=settings.secret_values())
        if args.command == "check-config":
            return _check_config(settings)
        if args.command == "import":
            from bot.guides import cli as guides_cli

            return guides_cli.run(
                args.runbook,
                args.out,
                args.name,
                commands_dir=settings.commands_dir,
                catalog_path=settings.chatops_config,
            )
        if args.command == "rbac":
            return _rbac(settings, args.service_account, args.namespace)
        if args.command == "actions":
            return _actions(settings, args.markdown)
        if args.command == "migrate":
            return asyncio.run(_migrate(settings))
        if args.command == "audit":
            return asyncio.run(_audit_verify(settings))
        if args.command == "socket":
            return run_server(_socket(settings))
        if args.command == "shell":
            return _shell(settings, args)
        if args.workers < 1:
            raise errors.ConfigError([f"--workers: need at least 1, got {args.workers}"])
        if args.workers > 1:
            return asyncio.run(workers.serve_workers(settings, args.workers))
        return run_server(_serve(settings, reuse_port=args.reuse_port))
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
