"""A local PagerDuty for tests and the shell: the Events API v2 (`POST /v2/enqueue`) and the REST
API's `GET /oncalls`, over real HTTP on loopback.

Events are checked as PagerDuty checks them (known routing key, `event_action`, a trigger's
`payload.summary`/`source`/`severity`) and answered 202 `{"status": "success", "message": "Event
processed", "dedup_key": …}` or 400 `{"status": "invalid event", …}`; alerts are kept by dedup key,
so a repeated trigger does not open a second one. `/oncalls` wants `Authorization: Token token=…`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from aiohttp import web

from sandbox.api_fake import ApiFake

EVENT_ACTIONS = frozenset({"trigger", "acknowledge", "resolve"})
SEVERITIES = frozenset({"critical", "error", "warning", "info"})


@dataclass
class Alert:
    dedup_key: str
    routing_key: str
    summary: str
    severity: str
    status: str  # triggered, acknowledged, resolved
    events: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OnCallEntry:
    escalation_policy: str
    level: int
    user: str
    schedule: str = ""


def _invalid(*errors: str) -> web.Response:
    return web.json_response(
        {"status": "invalid event", "message": "Event object is invalid", "errors": list(errors)}, status=400
    )


class PagerDutyFake(ApiFake):
    def __init__(self, routing_keys: set[str], api_token: str = "sandbox-pagerduty-token") -> None:  # noqa: S107 - a fake
        super().__init__()
        self.routing_keys = routing_keys
        self.api_token = api_token
        self.alerts: dict[str, Alert] = {}
        self.on_call: list[OnCallEntry] = []

    @property
    def events_url(self) -> str:
        return self.base + "/v2/enqueue"

    @property
    def api_url(self) -> str:
        return self.base + "/"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v2/enqueue", self._enqueue)
        app.router.add_get("/oncalls", self._oncalls)

    async def _enqueue(self, request: web.Request) -> web.Response:
        try:
            event = await request.json()
        except ValueError:
            return _invalid("The request body is not valid JSON")
        if not isinstance(event, dict):
            return _invalid("Event object must be a JSON object")
        problems = []
        if event.get("routing_key") not in self.routing_keys:
            problems.append("'routing_key' is invalid")
        action = event.get("event_action")
        if action not in EVENT_ACTIONS:
            problems.append("'event_action' is missing or invalid")
        dedup_key = str(event.get("dedup_key") or "")
        if len(dedup_key) > 255:
            problems.append("'dedup_key' must be at most 255 characters")
        raw_payload = event.get("payload")
        payload: dict[str, object] = raw_payload if isinstance(raw_payload, dict) else {}
        if action == "trigger":
            for key in ("summary", "source"):
                if not str(payload.get(key) or "").strip():
                    problems.append(f"'payload.{key}' is missing or blank")
            if payload.get("severity") not in SEVERITIES:
                problems.append("'payload.severity' is missing or invalid")
            dedup_key = dedup_key or secrets.token_hex(16)
        elif not dedup_key:
            problems.append("'dedup_key' is required for acknowledge and resolve")
        if problems:
            return _invalid(*problems)
        alert = self.alerts.get(dedup_key)
        if action == "trigger" and (alert is None or alert.status == "resolved"):
            alert = self.alerts[dedup_key] = Alert(
                dedup_key, str(event["routing_key"]), str(payload["summary"]), str(payload["severity"]), "triggered"
            )
        if alert is not None:
            alert.events.append(str(action))
            if action != "trigger":
                alert.status = {"acknowledge": "acknowledged", "resolve": "resolved"}[str(action)]
        return web.json_response(
            {"status": "success", "message": "Event processed", "dedup_key": dedup_key}, status=202
        )

    async def _oncalls(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Token token={self.api_token}":
            return web.json_response({"error": {"message": "Unauthorized", "code": 2006}}, status=401)
        wanted = set(request.query.getall("escalation_policy_ids[]", []))
        found = [e for e in self.on_call if not wanted or e.escalation_policy in wanted]
        oncalls = [
            {
                "escalation_level": e.level,
                "escalation_policy": {"id": e.escalation_policy, "type": "escalation_policy_reference"},
                "user": {"id": f"PU{n:05d}", "type": "user_reference", "summary": e.user},
                "schedule": {"summary": e.schedule} if e.schedule else None,
                "start": None,
                "end": None,
            }
            for n, e in enumerate(found)
        ]
        return web.json_response({"oncalls": oncalls, "limit": 25, "offset": 0, "more": False, "total": None})
