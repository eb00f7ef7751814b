"""The shell's Statuspage and PagerDuty: both fakes on loopback, seeded from the catalog, with per-run keys.

The keys go into the shell's own environment under the names the catalog gives them (the bot reads
them there, as deployed), and `status-page` in the shell delivers what the outbox owes, then shows
what customers would see and what PagerDuty holds.
"""

from __future__ import annotations

import secrets
from collections.abc import MutableMapping
from typing import Any

from bot.app import BotProcess
from bot.catalog import Catalog
from sandbox.pagerduty_fake import OnCallEntry, PagerDutyFake
from sandbox.statuspage_fake import StatuspageFake

# Who the shell's PagerDuty has on call, in every escalation policy the catalog names.
SHELL_ON_CALL = (("Alice (primary)", "Mail Score primary"), ("Bob (team lead)", "Mail Score leads"))


class OutboundFakes:
    def __init__(self) -> None:
        self.statuspage = StatuspageFake(secrets.token_hex(16))
        self.pagerduty: PagerDutyFake | None = None
        self.environment: dict[str, str] = {}

    async def start(self, catalog: Catalog) -> None:
        await self.statuspage.start()
        self.statuspage.seed_from_catalog(catalog)
        if catalog.statuspage is not None:
            self.environment[catalog.statuspage.api_key_env] = self.statuspage.api_key
        routing: set[str] = set()
        config = catalog.pagerduty
        if config is not None:
            names = [config.routing_key_env] + [r.routing_key_env for r in [*config.services.values()]]
            names += [r.routing_key_env for r in config.severities.values()]
            for name in filter(None, names):
                self.environment[name] = self.environment.get(name) or secrets.token_hex(16)
                routing.add(self.environment[name])
        self.pagerduty = PagerDutyFake(routing, secrets.token_hex(16))
        if config is not None and config.api_token_env:
            self.environment[config.api_token_env] = self.pagerduty.api_token
        await self.pagerduty.start()
        for route in config.services.values() if config else []:
            if route.escalation_policy:
                self.pagerduty.on_call += [
                    OnCallEntry(route.escalation_policy, level, user, schedule)
                    for level, (user, schedule) in enumerate(SHELL_ON_CALL, start=1)
                ]

    async def stop(self) -> None:
        await self.statuspage.stop()
        if self.pagerduty is not None:
            await self.pagerduty.stop()

    def apply(self, environ: MutableMapping[str, str]) -> None:
        environ.update(self.environment)

    def settings(self) -> dict[str, Any]:
        assert self.pagerduty is not None
        return {
            "statuspage_api_url": self.statuspage.url,
            "pagerduty_events_url": self.pagerduty.events_url,
            "pagerduty_api_url": self.pagerduty.api_url,
            "outbox_poll_seconds": 0.2,
        }

    def describe(self) -> str:
        assert self.pagerduty is not None
        return (
            f"  Statuspage API = {self.statuspage.url}  (`status-page` shows what customers see)\n"
            f"  PagerDuty Events API = {self.pagerduty.events_url}"
        )

    async def show(self, process: BotProcess) -> str:
        """Deliver what the outbox owes now, then the public page and the pager as they stand."""
        if process.outbox is not None:
            await process.outbox.drain()
        lines = ["Status page (what customers see):"]
        self.statuspage.advance()  # a scheduled maintenance moves along on Statuspage's clock
        for incident in self.statuspage.incidents.values():
            latest = incident["incident_updates"][0]["body"] if incident["incident_updates"] else ""
            state = f"[{incident['status']}, impact {incident['impact']}]"
            lines.append(f"  {incident['id']} {state} {incident['name']} (page {incident['page_id']})")
            if incident.get("scheduled_for"):
                lines.append(f"    scheduled for {incident['scheduled_for']} until {incident['scheduled_until']}")
            lines.append(f"    latest update: {latest}")
        if not self.statuspage.incidents:
            lines.append("  no incidents")
        for page_id, components in self.statuspage.components.items():
            shown = ", ".join(f"{c['name']}: {c['status']}" for c in components.values())
            lines.append(f"  page {page_id} components: {shown}")
        lines.append("PagerDuty alerts:")
        alerts = self.pagerduty.alerts.values() if self.pagerduty else []
        lines += [f"  {a.dedup_key} [{a.status}] {a.summary} (events: {', '.join(a.events)})" for a in alerts]
        if not alerts:
            lines.append("  none")
        return "\n".join(lines)
