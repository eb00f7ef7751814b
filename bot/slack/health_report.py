"""The daily health report (cron from catalog.health) and `/runbook health [service]` on demand.

Both run the checks, post the summary, then the details as thread replies. The scheduler
claims each cron fire once across replicas, so only one replica posts. The Kubernetes client is
the report's own (built and closed by the composition root, bot/app.py), with as many workers as
checks may run at once, so a report fanning out over hundreds of services never queues behind
(or starves) the interactive commands' Kubernetes calls; the HTTP session lives for one report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import aiohttp
import structlog

from bot import errors
from bot.catalog import Catalog
from bot.health.checks import Targets, run_checks
from bot.health.limits import Limits
from bot.health.model import Report
from bot.k8s import Kube
from bot.runbooks import parser
from bot.runbooks.engine import Invocation
from bot.runbooks.model import Procedure
from bot.runbooks.policy import VIEWER_ROLE, Policy
from bot.scheduler import Scheduler
from bot.slack import health_charts
from bot.slack.health_contexts import Occasion
from bot.slack.health_views import Rendered, render
from bot.slack.subcommands import Subcommands
from bot.slack.webapi import SlackWebApi
from bot.templating import Templates

log = structlog.get_logger(__name__)
JOB_ID = "health-report"
USAGE = "/runbook health [service]"


@dataclass(frozen=True)
class HealthRuntime:
    """What a health report uses; built by the composition root."""

    slack: SlackWebApi
    catalog: Catalog
    procedures: Mapping[str, Procedure]  # which suggested procedures get a button
    kube: Kube  # the report's own client (see the module docstring)
    prometheus_url: str | None
    templates: Templates  # health_report, health_detail
    policy: Policy  # who may ask for a report (the daily one asks no one)


def register(scheduler: Scheduler, rt: HealthRuntime) -> None:
    """The daily report's cron job (`add_subcommand` adds the report on demand to `/runbook`)."""
    schedule = rt.catalog.health
    timezone = schedule.timezone or rt.catalog.timezone
    channel = rt.catalog.channels.resolve(schedule.channel)

    async def fire(fire_at: datetime, late: bool) -> None:
        local = fire_at.astimezone(ZoneInfo(timezone))
        await post_report(rt, channel, Occasion(scheduled_at=f"{local:%Y-%m-%d %H:%M %Z}", late=late))

    scheduler.cron(JOB_ID, schedule.cron, timezone, fire)


async def build_report(rt: HealthRuntime, only: Iterable[str] | None = None, limits: Limits | None = None) -> Report:
    concurrency = rt.catalog.health.concurrency
    async with aiohttp.ClientSession() as session:
        thresholds = limits or Limits(**rt.catalog.health.thresholds.model_dump())
        targets = Targets(rt.kube, session, rt.prometheus_url, thresholds)
        return await run_checks(rt.catalog, targets, only=only, concurrency=concurrency)


async def post_report(rt: HealthRuntime, channel: str, occasion: Occasion, only: Iterable[str] | None = None) -> str:
    """Check, post the summary and its thread replies; the summary's ts."""
    report = await build_report(rt, only)
    ts = await post_rendered(rt, channel, render_report(rt, report, occasion))
    await health_charts.attach(rt.slack, rt.catalog, rt.prometheus_url, report, channel, ts)
    return ts


def render_report(rt: HealthRuntime, report: Report, occasion: Occasion) -> Rendered:
    return render(rt.templates, report, occasion, procedures=rt.procedures.keys())


async def post_rendered(rt: HealthRuntime, channel: str, rendered: Rendered) -> str:
    ts = await rt.slack.post_message(channel, *rendered.summary)
    for text, blocks in rendered.thread:
        await rt.slack.post_message(channel, text, blocks, thread_ts=ts)
    log.info("health report posted", channel=channel, thread_replies=len(rendered.thread))
    return ts


def add_subcommand(subcommands: Subcommands, rt: HealthRuntime) -> None:
    async def answer(who: Invocation, words: Sequence[str]) -> None:
        await answer_health(rt, who, words[0] if words else None)

    subcommands.add("health", USAGE, answer)


async def answer_in_thread(rt: HealthRuntime, who: Invocation, service: str | None, thread_ts: str) -> None:
    """A guide's `health [service]` step: only the summary, in the guide's thread (a thread holds no thread)."""
    await rt.policy.check_role(who.user_id, VIEWER_ROLE, errors.Said("doing_see_health"))
    report = await build_report(rt, [service] if service else None)
    rendered = render_report(rt, report, Occasion(asked_by=who.user_id, service=service))
    await rt.slack.post_message(who.channel_id, *rendered.summary, thread_ts=thread_ts)


async def answer_health(rt: HealthRuntime, who: Invocation, service: str | None) -> None:
    """`/runbook health [service]`, after the ack: the report in the channel it was asked in.

    Errors propagate to the `/runbook` listener, which answers them like any other command's.
    """
    await rt.policy.check_role(who.user_id, VIEWER_ROLE, errors.Said("doing_see_health"))
    if service is not None and service not in rt.catalog.services:
        raise parser.unknown_name_error("service", service, list(rt.catalog.services), usage=USAGE)
    report = await build_report(rt, [service] if service is not None else None)
    rendered = render_report(rt, report, Occasion(asked_by=who.user_id, service=service))
    try:
        ts = await post_rendered(rt, who.channel_id, rendered)
    except errors.UserError:
        # The bot may not be a member of this channel; the response_url always works (no thread there).
        text, blocks = rendered.summary
        await rt.slack.respond(who.response_url or "", text, blocks, ephemeral=False)
        return
    await health_charts.attach(rt.slack, rt.catalog, rt.prometheus_url, report, who.channel_id, ts)
