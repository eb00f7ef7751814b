"""A local Atlassian Statuspage (REST API v1) for tests and the shell, over real HTTP on loopback.

Checks what Statuspage checks: `Authorization: OAuth <key>`, the page, the `{"incident": {…}}`
envelope, the incident status, impact and component status vocabularies and the page's component
ids (401, 404, 422 with `{"error": …}` as Statuspage answers them); answers the documented shapes
(201 with the incident, its `incident_updates`, `components` and `metadata`; the page's unresolved
incidents, its upcoming maintenances (still scheduled) and its scheduled maintenances (every one,
whatever its status), each list newest first, `page` and `per_page` at most 100), and keeps the
page's state so a test can read what customers would see.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.catalog import Catalog
from sandbox.api_fake import ApiFake

INCIDENT_STATUSES = frozenset({"investigating", "identified", "monitoring", "resolved"})
IMPACTS = frozenset({"none", "minor", "major", "critical"})
COMPONENT_STATUSES = frozenset(
    {"operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"}
)
UNRESOLVED = frozenset({"investigating", "identified", "monitoring"})
MAX_PER_PAGE = 100


# A scheduled maintenance is an incident with these statuses (and `scheduled_for`/`scheduled_until`).
MAINTENANCE_STATUSES = frozenset({"scheduled", "in_progress", "verifying", "completed"})
MAINTENANCE_FLAGS = (
    "scheduled_remind_prior",
    "scheduled_auto_in_progress",
    "scheduled_auto_completed",
    "auto_transition_to_maintenance_state",
    "auto_transition_to_operational_state",
    "deliver_notifications",
)


def _moment(value: object) -> datetime | None:
    """An ISO 8601 time with its offset, as Statuspage reads `scheduled_for`; None when it is not one."""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _error(status: int, *messages: str) -> web.Response:
    return web.json_response({"error": messages[0] if len(messages) == 1 else list(messages)}, status=status)


class StatuspageFake(ApiFake):
    def __init__(self, api_key: str = "sandbox-statuspage-key") -> None:
        super().__init__()
        self.api_key = api_key
        self.components: dict[str, dict[str, dict[str, Any]]] = {}  # page id → component id → component
        self.incidents: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        # Statuspage's own clock, which moves scheduled maintenances along; a test may set it.
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    @property
    def url(self) -> str:
        """What STATUSPAGE_API_URL is set to (the fake's `/v1/`)."""
        return self.base + "/v1/"

    def add_page(self, page_id: str, components: dict[str, str]) -> None:
        """A page with its components (id → name), all operational."""
        self.components[page_id] = {
            cid: {"id": cid, "page_id": page_id, "name": name, "status": "operational"}
            for cid, name in components.items()
        }

    def seed_from_catalog(self, catalog: Catalog) -> None:
        """The pages and components the catalog's `statuspage.services` name, all operational."""
        pages: dict[str, dict[str, str]] = {}
        for service in (catalog.statuspage.services if catalog.statuspage else {}).values():
            pages.setdefault(service.page_id, {}).update(dict.fromkeys(service.components, service.name))
        for page_id, components in pages.items():
            self.add_page(page_id, components)

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/pages/{page_id}/incidents", self._create)
        app.router.add_patch("/v1/pages/{page_id}/incidents/{incident_id}", self._update)
        app.router.add_get("/v1/pages/{page_id}/incidents", self._list)
        app.router.add_get("/v1/pages/{page_id}/incidents/unresolved", self._unresolved)
        app.router.add_get("/v1/pages/{page_id}/incidents/upcoming", self._upcoming)
        app.router.add_get("/v1/pages/{page_id}/incidents/scheduled", self._scheduled)
        app.router.add_get("/v1/pages/{page_id}/components", self._list_components)

    def _check(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"OAuth {self.api_key}":
            return _error(401, "Could not authenticate")
        if request.match_info["page_id"] not in self.components:
            return _error(404, "The requested resource could not be found.")
        return None

    async def _envelope(self, request: web.Request) -> dict[str, Any] | web.Response:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "The request body is not valid JSON")
        incident = body.get("incident") if isinstance(body, dict) else None
        if not isinstance(incident, dict):
            return _error(400, "incident is missing")
        return incident

    def _problems(self, page_id: str, incident: dict[str, Any], *, creating: bool) -> list[str]:
        problems = []
        if creating and not str(incident.get("name") or "").strip():
            problems.append("Name can't be blank")
        if "status" in incident and incident["status"] not in INCIDENT_STATUSES:
            problems.append(f"Status {incident['status']} is not a valid incident status")
        if "impact_override" in incident and incident["impact_override"] not in IMPACTS:
            problems.append(f"Impact override {incident['impact_override']} is not valid")
        metadata = incident.get("metadata")
        if metadata is not None and (
            not isinstance(metadata, dict) or not all(isinstance(v, dict) for v in metadata.values())
        ):
            problems.append("Metadata must be an object whose top-level values are objects")
        components = incident.get("components") or {}
        for cid, status in components.items() if isinstance(components, dict) else []:
            if cid not in self.components[page_id]:
                problems.append(f"Component {cid} does not belong to this page")
            elif status not in COMPONENT_STATUSES:
                problems.append(f"Component status {status} is not valid")
        return problems

    def _apply(self, page_id: str, record: dict[str, Any], change: dict[str, Any]) -> None:
        now = _now()
        for cid, status in (change.get("components") or {}).items():
            self.components[page_id][cid]["status"] = status
        if "components" in change:
            record["components"] = [dict(self.components[page_id][c]) for c in change["components"]]
        if "metadata" in change:
            record["metadata"] = change["metadata"]
        if "status" in change:
            record["status"] = change["status"]
            if change["status"] == "resolved":
                record["resolved_at"] = now
        record["updated_at"] = now
        record["incident_updates"].insert(
            0,
            {
                "id": secrets.token_hex(6),
                "incident_id": record["id"],
                "status": record["status"],
                "body": str(change.get("body") or ""),
                "created_at": now,
                "affected_components": [
                    {"code": cid, "new_status": s} for cid, s in (change.get("components") or {}).items()
                ],
            },
        )

    async def _create(self, request: web.Request) -> web.Response:
        page_id = request.match_info["page_id"]
        refused = self._check(request)
        if refused is not None:
            return refused
        incident = await self._envelope(request)
        if isinstance(incident, web.Response):
            return incident
        if incident.get("status") in MAINTENANCE_STATUSES:
            return self._create_maintenance(page_id, incident)
        problems = self._problems(page_id, incident, creating=True)
        if problems:
            return _error(422, *problems)
        record = self._new_record(
            page_id,
            incident,
            status=incident.get("status", "investigating"),
            impact=incident.get("impact_override", "none"),
            impact_override=incident.get("impact_override"),
        )
        self._apply(page_id, record, {**incident, "status": record["status"]})
        return web.json_response(record, status=201)

    async def _update(self, request: web.Request) -> web.Response:
        page_id, incident_id = request.match_info["page_id"], request.match_info["incident_id"]
        refused = self._check(request)
        if refused is not None:
            return refused
        change = await self._envelope(request)
        if isinstance(change, web.Response):
            return change
        record = self.incidents.get(incident_id)
        if record is None or record["page_id"] != page_id:
            return _error(404, "The requested resource could not be found.")
        if record.get("scheduled_for") is not None:
            return self._update_maintenance(page_id, record, change)
        problems = self._problems(page_id, change, creating=False)
        if problems:
            return _error(422, *problems)
        self._apply(page_id, record, change)
        return web.json_response(record)

    async def _list(self, request: web.Request) -> web.Response:
        refused = self._check(request)
        if refused is not None:
            return refused
        page_id = request.match_info["page_id"]
        self.advance()
        return web.json_response([i for i in self.incidents.values() if i["page_id"] == page_id])

    async def _unresolved(self, request: web.Request) -> web.Response:
        return await self._listing(request, lambda i: i["status"] in UNRESOLVED)

    async def _upcoming(self, request: web.Request) -> web.Response:
        return await self._listing(request, lambda i: i.get("scheduled_for") is not None and i["status"] == "scheduled")

    async def _scheduled(self, request: web.Request) -> web.Response:
        return await self._listing(request, lambda i: i.get("scheduled_for") is not None)

    async def _listing(self, request: web.Request, listed: Callable[[dict[str, Any]], bool]) -> web.Response:
        """The page's incidents `listed` keeps, newest first, one page of results."""
        refused = self._check(request)
        if refused is not None:
            return refused
        self.advance()  # maintenances listed as they stand on Statuspage's clock
        try:
            number = int(request.query.get("page", "1"))
            per_page = min(int(request.query.get("per_page", str(MAX_PER_PAGE))), MAX_PER_PAGE)
        except ValueError:
            return _error(400, "page and per_page must be integers")
        if number < 1 or per_page < 1:
            return _error(400, "page and per_page must be positive")
        page_id = request.match_info["page_id"]
        newest_first = [i for i in self.incidents.values() if i["page_id"] == page_id and listed(i)][::-1]
        return web.json_response(newest_first[(number - 1) * per_page : number * per_page])

    async def _list_components(self, request: web.Request) -> web.Response:
        refused = self._check(request)
        if refused is not None:
            return refused
        return web.json_response(list(self.components[request.match_info["page_id"]].values()))

    # ---- scheduled maintenances --------------------------------------------------------------------

    def maintenances(self) -> list[dict[str, Any]]:
        """The scheduled maintenances as customers see them now (their automatic transitions applied)."""
        self.advance()
        return [i for i in self.incidents.values() if i.get("scheduled_for") is not None]

    def advance(self) -> None:
        """What Statuspage does on its own as its clock passes a maintenance's times (applied when read):
        `scheduled_auto_in_progress` at `scheduled_for` (components under maintenance), then
        `scheduled_auto_completed` at `scheduled_until` (components operational again)."""
        now = self.clock()
        for record in self.incidents.values():
            starts, ends = _moment(record.get("scheduled_for")), _moment(record.get("scheduled_until"))
            if starts is None or ends is None:
                continue
            if record["status"] == "scheduled" and record["scheduled_auto_in_progress"] and now >= starts:
                self._transition(record, "in_progress", "auto_transition_to_maintenance_state", "under_maintenance")
            if record["status"] in ("in_progress", "verifying") and record["scheduled_auto_completed"] and now >= ends:
                self._transition(record, "completed", "auto_transition_to_operational_state", "operational")

    def _transition(self, record: dict[str, Any], status: str, flag: str, component_status: str) -> None:
        change: dict[str, Any] = {"status": status}
        if record[flag] and record["component_ids"]:
            change["components"] = dict.fromkeys(record["component_ids"], component_status)
        self._apply(record["page_id"], record, change)

    def _maintenance_problems(self, page_id: str, incident: dict[str, Any], *, creating: bool) -> list[str]:
        problems = self._problems(page_id, {k: v for k, v in incident.items() if k != "status"}, creating=creating)
        if "status" in incident and incident["status"] not in MAINTENANCE_STATUSES:
            problems.append(f"Status {incident['status']} is not a valid scheduled maintenance status")
        for key in ("scheduled_for", "scheduled_until"):
            if creating and key not in incident:
                problems.append(f"{key.replace('_', ' ').capitalize()} can't be blank")
            elif key in incident and _moment(incident[key]) is None:
                problems.append(f"{key.replace('_', ' ').capitalize()} is not a valid ISO 8601 time")
        starts, ends = _moment(incident.get("scheduled_for")), _moment(incident.get("scheduled_until"))
        if starts is not None and ends is not None and ends <= starts:
            problems.append("Scheduled until must be after scheduled for")
        for flag in MAINTENANCE_FLAGS:
            if flag in incident and not isinstance(incident[flag], bool):
                problems.append(f"{flag} must be true or false")
        ids = incident.get("component_ids", [])
        if not isinstance(ids, list) or any(c not in self.components[page_id] for c in ids):
            problems.append("component_ids must name components of this page")
        return problems

    def _new_record(self, page_id: str, incident: dict[str, Any], **fields: Any) -> dict[str, Any]:
        """A new incident or scheduled maintenance as Statuspage stores it (its `fields` on top), kept."""
        incident_id = f"spinc{next(self._ids):07d}"
        now = _now()
        record: dict[str, Any] = {
            "id": incident_id,
            "page_id": page_id,
            "name": incident["name"],
            "shortlink": f"https://stspg.io/{incident_id}",
            "created_at": now,
            "updated_at": now,
            "resolved_at": None,
            "components": [],
            "incident_updates": [],
            "metadata": {},
            **fields,
        }
        self.incidents[incident_id] = record
        return record

    def _create_maintenance(self, page_id: str, incident: dict[str, Any]) -> web.Response:
        problems = self._maintenance_problems(page_id, incident, creating=True)
        if incident.get("status") != "scheduled":
            problems.append("A scheduled maintenance is created with status scheduled")
        if problems:
            return _error(422, *problems)
        record = self._new_record(
            page_id,
            incident,
            status="scheduled",
            impact="maintenance",
            scheduled_for=incident["scheduled_for"],
            scheduled_until=incident["scheduled_until"],
            component_ids=list(incident.get("component_ids", [])),
            components=[dict(self.components[page_id][c]) for c in incident.get("component_ids", [])],
            metadata=incident.get("metadata") or {},
            **{flag: bool(incident.get(flag, False)) for flag in MAINTENANCE_FLAGS},
        )
        self._apply(page_id, record, {"status": "scheduled", "body": incident.get("body", "")})
        return web.json_response(record, status=201)

    def _update_maintenance(self, page_id: str, record: dict[str, Any], change: dict[str, Any]) -> web.Response:
        self.advance()  # Statuspage's own transitions first: a patch lands on the maintenance as it stands
        problems = self._maintenance_problems(page_id, change, creating=False)
        starts = _moment(change.get("scheduled_for", record["scheduled_for"]))
        ends = _moment(change.get("scheduled_until", record["scheduled_until"]))
        if starts is not None and ends is not None and ends <= starts and "Scheduled until" not in str(problems):
            problems.append("Scheduled until must be after scheduled for")
        if problems:
            return _error(422, *problems)
        for key in ("scheduled_for", "scheduled_until"):
            if key in change:
                record[key] = change[key]
        self._apply(page_id, record, change)
        return web.json_response(record)
