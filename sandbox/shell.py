"""`runbook-bot shell`: the whole bot against a local Slack, a sandbox cluster and Docker, at a prompt.

Starts the SlackFake, a SandboxCluster and a Docker Engine fake seeded from the catalog, and the real BotProcess
(embedded PostgreSQL/Redis unless DATABASE_URL/REDIS_URL are set) on a loopback port;
then reads lines from the terminal or from `--script FILE` and hands them to a
`Session`. Like Hubot's shell and Errbot's text backend, but every line takes the
real, signed HTTP path.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Final

from pydantic import SecretStr

from bot import logs
from bot.app import BotProcess
from bot.catalog import Catalog, load_catalog
from bot.embedded import EmbeddedServers
from bot.settings import Settings
from sandbox.cluster import SandboxCluster
from sandbox.docker_engine import DockerEngineFake
from sandbox.shell_outbound import OutboundFakes
from sandbox.shell_render import looks_like_error
from sandbox.shell_session import SLASH_COMMANDS, Session, Write
from sandbox.shell_world import ShellWorld
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import FakeConfig, SlackFake

REPORT_ENV: Final = "RUNBOOK_SHELL_REPORT"  # write the cluster's deployments as JSON here at exit
REVISION_ANNOTATION: Final = "deployment.kubernetes.io/revision"
REPEAT_EVERY_SECONDS: Final = 5.0  # `repeat-until`: how often the line is typed again (a person's patience)

# "Incident #12", "maintenance #3": remembered so a script can say `$incident`, `$maintenance`.
_NUMBERED: Final = re.compile(r"([A-Za-z]+) #(\d+)")
_VARIABLE: Final = re.compile(r"\$([A-Za-z]+)")

HELP: Final = """\
  /runbook help | list | status backend | scale backend 5 | restart backend | rollback backend
  /runbook health            /incident …            /maintenance …
  /runbook query backend error-rate | graph backend error-rate 6h   (charts are saved to a file)
  1, 2, … or a button label  press a button of the last message shown (e.g. `confirm`)
  as bob                     type as another user (alice, bob, carol or a U… id)
  in #incidents              type in another channel
  expect TEXT                (scripts) fail unless the last answer contains TEXT
  expect-error TEXT          (scripts) the last line was meant to be refused with TEXT
  repeat-until SECONDS TEXT  (scripts) type the last line again until its answer contains TEXT
  $incident, $maintenance    the number of the last incident / window the bot mentioned
  status-page                deliver what the bot owes Statuspage and PagerDuty, show the public page
  help | exit"""


def _print(text: str) -> None:
    """The conversation on stdout, flushed: a person reads it line by line, also through a pipe."""
    print(text, flush=True)


def main(settings: Settings, *, as_user: str, script: str | None, channel: str | None) -> int:
    """`runbook-bot shell`: this process's logs and warnings quietened, the conversation on its own loop."""
    # pgserver's platformdirs warns about XDG_RUNTIME_DIR on every start; noise at a prompt.
    warnings.filterwarnings("ignore", module="platformdirs")
    if "LOG_LEVEL" not in os.environ:
        # The conversation is the output; info logs would drown it (LOG_LEVEL=INFO brings them back).
        logs.configure(level="WARNING", fmt=settings.log_format, secrets=[])
    return asyncio.run(run(settings, as_user=as_user, script=script, channel=channel, environ=os.environ))


async def run(
    settings: Settings,
    *,
    as_user: str = "alice",
    script: str | None = None,
    channel: str | None = None,
    environ: MutableMapping[str, str],
    write: Write = _print,
) -> int:
    """Start everything, run the conversation, stop everything; the exit code (non-zero: a line failed).

    The world's variables (the services' database URLs, the Statuspage token) are set in `environ`, which
    must be os.environ or write through to it, as the bot reads them there; a caller that must undo them
    (a test in a shared process) passes a mapping that records each change. The conversation goes to
    `write`; the cluster's state at exit to the file named by `environ[RUNBOOK_SHELL_REPORT]`, if set.
    """
    lines = _script_lines(Path(script)) if script is not None else None
    started = time.monotonic()
    catalog = load_catalog(settings.chatops_config)
    signing_secret = secrets.token_hex(24)  # generated per run and never printed
    fake = SlackFake(FakeConfig(bot_token=f"xoxb-shell-{secrets.token_hex(12)}"))
    cluster = SandboxCluster()
    docker = DockerEngineFake()
    world = ShellWorld()
    outbound = OutboundFakes()
    # The bot and the services' databases share one PostgreSQL and one Redis: the configured ones, else
    # the embedded servers, started here so the world can be seeded before the bot starts.
    embedded = EmbeddedServers(settings.data_dir)
    # The Alertmanager webhook is on, as deployed: a per-run token (never printed) unless one is configured.
    alertmanager_token = settings.alertmanager_token
    if not alertmanager_token.get_secret_value():
        alertmanager_token = SecretStr(secrets.token_hex(24))
    process: BotProcess | None = None
    with tempfile.TemporaryDirectory(prefix="runbook-shell-") as tmp:
        try:
            database_url = settings.database_url or SecretStr(await asyncio.to_thread(embedded.postgres_url))
            redis_url = settings.redis_url or SecretStr(await asyncio.to_thread(embedded.redis_url))
            await world.start(catalog, database_url.get_secret_value(), redis_url.get_secret_value())
            world.apply(environ)
            await outbound.start(catalog)
            outbound.apply(environ)
            overlay = world.overlay_catalog(settings.chatops_config, Path(tmp) / "chatops.sandbox.yml")
            await fake.start()
            await cluster.start()
            cluster.seed_from_catalog(catalog)
            cluster.seed_components(catalog)
            # Events, nodes, Services and a crash-looping pod to diagnose, on a service no tutorial scales.
            cluster.seed_triage(catalog, crashing_service="email-triage")
            await docker.start()
            docker.seed_from_catalog(catalog)
            kubeconfig = cluster.write_kubeconfig(Path(tmp) / "kubeconfig", SandboxCluster.catalog_contexts(catalog))
            process = BotProcess(
                settings.model_copy(
                    update={
                        "slack_bot_token": SecretStr(fake.token),
                        "slack_signing_secret": SecretStr(signing_secret),
                        "alertmanager_token": alertmanager_token,
                        "slack_api_url": fake.api_url,
                        "kubeconfig": kubeconfig,
                        "docker_host": docker.url,  # every catalog Docker host without a url
                        "database_url": database_url,
                        "redis_url": redis_url,
                        "chatops_config": overlay,
                        "prometheus_url": world.prometheus.url,
                        **outbound.settings(),
                    }
                )
            )
            await process.start()
            port = await process.serve_http("127.0.0.1", 0)
            async with SlackUser(f"http://127.0.0.1:{port}/slack/events", fake, signing_secret) as slack:
                session = Session(
                    fake,
                    slack,
                    _ScriptReader(lines, write) if lines is not None else _terminal_read,
                    write,
                    user_id=_user_id(fake, as_user) or "U0ALICE",
                    channel=_channel_id(fake, catalog, channel) or catalog.channels.ops,
                    activity=lambda: len(fake.calls) + len(cluster.requests) + len(docker.requests),
                    bot_idle=lambda: (
                        process is not None and process.runtime is not None and process.runtime.followups.idle
                    ),
                    files_dir=settings.data_dir / "shell-files",
                )
                session.mark_all_seen()
                write(_welcome(session, catalog, time.monotonic() - started))
                write(world.describe() + "\n" + outbound.describe())
                return await _loop(session, catalog, process, outbound, scripted=lines is not None)
        finally:
            _write_report(cluster, docker, environ.get(REPORT_ENV))
            if process is not None:
                await process.stop()
            await cluster.stop()
            await docker.stop()
            await fake.close()
            await outbound.stop()
            await world.stop()
            await asyncio.to_thread(embedded.close)


# ── the conversation ────────────────────────────────────────────────────────


async def _loop(
    session: Session, catalog: Catalog, process: BotProcess, outbound: OutboundFakes, *, scripted: bool
) -> int:
    failed: list[str] = []
    pending: list[str] = []  # errors from the last line, forgiven by a following `expect-error`
    number = 0
    numbers: dict[str, str] = {}  # "incident" → "12": the last `Incident #12` the bot mentioned
    last = ""  # the last line typed, for `repeat-until`
    while True:
        line = await session.read(session.prompt)
        if line is None:
            break
        line = line.strip()
        number += 1
        word, _, rest = line.partition(" ")
        if word == "expect-error":
            if not any(rest.casefold() in e.casefold() for e in pending):
                failed.append(f"line {number}: expected an error containing {rest!r}")
                session.write(f"! expected an error containing {rest!r}")
            pending = []
            continue
        failed.extend(f"line {number - 1}: {_first_line(e)}" for e in pending)
        pending = []
        if word == "expect":
            if rest.casefold() not in "\n".join(session.output).casefold():
                failed.append(f"line {number}: expected {rest!r} in the last answer")
                session.write(f"! expected {rest!r} in the last answer")
            continue
        if word == "repeat-until":
            seconds, _, text = rest.partition(" ")
            if not await _repeat_until(session, catalog, _substitute(last, numbers), float(seconds), text):
                failed.append(f"line {number}: {text!r} not in the answer after {seconds} s")
                session.write(f"! {text!r} not in the answer after {seconds} s")
            pending = list(session.errors)
            continue
        if word in ("exit", "quit"):
            break
        last = line
        session.begin_line()
        if word == "status-page":
            session.show(await outbound.show(process))
            continue
        await _dispatch(session, catalog, _substitute(line, numbers))
        numbers.update(_numbers_in("\n".join(session.output)))
        pending = list(session.errors)
    failed.extend(f"line {number}: {_first_line(e)}" for e in pending)
    if scripted and failed:
        session.write(f"\nscript failed ({len(failed)}):\n" + "\n".join(f"  {f}" for f in failed))
        return 1
    return 0


async def _repeat_until(session: Session, catalog: Catalog, line: str, seconds: float, text: str) -> bool:
    """Type `line` again every few seconds until its answer contains `text` (a condition the world makes
    true with time, such as a query's age); False when `seconds` pass first."""
    deadline = time.monotonic() + seconds
    while text.casefold() not in "\n".join(session.output).casefold():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(REPEAT_EVERY_SECONDS)
        session.begin_line()
        await _dispatch(session, catalog, line)
    return True


async def _dispatch(session: Session, catalog: Catalog, line: str) -> None:
    word, _, rest = line.partition(" ")
    rest = rest.strip()
    if word in SLASH_COMMANDS:
        await session.slash(word, rest)
    elif word == "help":
        session.write(HELP)
    elif word == "as":
        user = _user_id(session.fake, rest)
        if user is None:
            session.fail(f"unknown user {rest!r}: alice, bob, carol or a U… id")
        else:
            session.user_id = user
            roles = ", ".join(_roles(session, catalog, user)) or "no roles"
            session.write(f"(you are now {session.user_name}: {roles})")
    elif word == "in":
        found = _channel_id(session.fake, catalog, rest)
        if found is None:
            known = ", ".join("#" + n for n in session.fake.channels.values())
            session.fail(f"unknown channel {rest!r}: {known}")
        else:
            session.channel = found
    elif word.startswith("/"):
        session.fail(f"{word} is not one of this bot's commands ({', '.join(SLASH_COMMANDS)})")
    elif line:
        await session.click(line)


def _first_line(error: str) -> str:
    """The line of an error that says what went wrong (not its heading or usage)."""
    lines = [line.strip() for line in error.splitlines() if line.strip()]
    return next((line for line in lines if looks_like_error(line)), lines[0] if lines else error)


def _numbers_in(output: str) -> dict[str, str]:
    return {word.casefold(): number for word, number in _NUMBERED.findall(output)}


def _substitute(line: str, numbers: dict[str, str]) -> str:
    """`$incident` → the number of the last incident mentioned, so tutorials work on a used data dir."""
    return _VARIABLE.sub(lambda m: numbers.get(m.group(1).casefold(), m.group(0)), line)


def _user_id(fake: SlackFake, who: str) -> str | None:
    who = who.strip().lstrip("@")
    if who in fake.users:
        return who
    by_name = {u.name: u.id for u in fake.users.values()}
    return by_name.get(who.casefold())


def _channel_id(fake: SlackFake, catalog: Catalog, name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().lstrip("#")
    if name in fake.channels:
        return name
    with contextlib.suppress(KeyError):
        return catalog.channels.resolve(name)
    return next((cid for cid, cname in fake.channels.items() if cname == name), None)


def _roles(session: Session, catalog: Catalog, user: str) -> list[str]:
    """The catalog roles `user` has directly or through a fake user group (as Policy resolves them)."""
    groups = {g.handle for g in session.fake.usergroups.values() if user in g.users}
    groups |= {g.id for g in session.fake.usergroups.values() if user in g.users}
    return [name for name, role in catalog.roles.items() if user in role.users or groups & set(role.groups)]


def _welcome(session: Session, catalog: Catalog, seconds: float) -> str:
    def who(user: str) -> str:
        return f"{session.fake.user_name(user)} ({', '.join(_roles(session, catalog, user)) or 'no roles'})"

    others = [who(u) for u in session.fake.users if u != session.user_id]
    return (
        f"runbook-bot shell: local Slack, sandbox cluster and Docker ({', '.join(catalog.services)}),"
        f" started in {seconds:.1f}s.\n"
        f"You are {who(session.user_id)} in #{session.fake.channel_name(session.channel)}."
        f" Also here: {', '.join(others)}; `as bob` switches.\n"
        "Try: /runbook status backend, /runbook scale backend 5, then `confirm`. `help` lists the rest."
    )


# ── input and output ────────────────────────────────────────────────────────


def _script_lines(path: Path) -> Iterator[str]:
    """The script's inputs: blank lines and `#` comments are skipped."""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            yield line


class _ScriptReader:
    """Reads the next script line, echoed after the prompt as if typed."""

    def __init__(self, lines: Iterator[str], write: Write) -> None:
        self._lines = lines
        self._write = write

    async def __call__(self, prompt: str) -> str | None:
        line = next(self._lines, None)
        if line is not None:
            self._write(f"{prompt}{line}")
        return line


async def _terminal_read(prompt: str) -> str | None:
    """input() in a daemon thread: it keeps readline editing, and a pending read never blocks exit
    (a default-executor thread would be joined at shutdown and wait for Enter)."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str | None] = loop.create_future()

    def read() -> None:
        try:
            text: str | None = input(prompt)
        except (EOFError, KeyboardInterrupt):
            text = None

        def deliver() -> None:
            if not answer.done():
                answer.set_result(text)

        with contextlib.suppress(RuntimeError):  # the loop may already be closed on exit
            loop.call_soon_threadsafe(deliver)

    threading.Thread(target=read, name="shell-input", daemon=True).start()
    try:
        return await answer
    finally:
        if sys.stdin.isatty() and not answer.done():
            print(file=sys.stderr)


def _write_report(cluster: SandboxCluster, docker: DockerEngineFake, target: str | None) -> None:
    """The cluster's deployments and the Docker fake's containers as JSON in the file `target`, for tests
    to read the state a script left."""
    if not target:
        return
    report = {
        f"{d['metadata']['namespace']}/{d['metadata']['name']}": {
            "replicas": d["spec"].get("replicas"),
            "revision": d["metadata"].get("annotations", {}).get(REVISION_ANNOTATION),
            "template_annotations": d["spec"]["template"]["metadata"].get("annotations", {}),
        }
        for d in cluster.store.list("deployments")
    }
    containers = {c.name: c.state for c in docker.containers.values()}
    # Containers the bot restarted (POST /containers/{id}/restart), by name: RestartCount, like Docker's,
    # counts only restart-policy restarts.
    restarted = [r.path.split("/")[2] for r in docker.requests_to("/restart", "POST")]
    restarts = {
        c.name: sum(1 for i in restarted if c.id.startswith(i) or c.name == i) for c in docker.containers.values()
    }
    Path(target).write_text(
        json.dumps(
            {"deployments": report, "containers": containers, "container_restarts": restarts},
            indent=2,
            sort_keys=True,
        ),
        encoding="utf-8",
    )
