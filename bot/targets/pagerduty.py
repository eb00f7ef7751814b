"""PagerDuty: the Events API v2 (trigger and resolve, deduplicated by key) and the REST API's on-call list.

Routing keys and the REST token come from environment variables the catalog names, read at the
moment of the call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot import errors
from bot.targets import env
from bot.targets.outbound import DeliveryError, JsonApi

REST_ACCEPT = "application/vnd.pagerduty+json;version=2"


@dataclass(frozen=True)
class OnCall:
    level: int
    name: str
    schedule: str


class PagerDuty:
    def __init__(self, events_url: str, api_url: str, *, timeout: float) -> None:
        self._events_url = events_url
        self._api = api_url.rstrip("/") + "/"
        self._http = JsonApi(timeout=timeout)

    async def send_event(
        self, *, routing_key_env: str, event_action: str, dedup_key: str, payload: Mapping[str, Any] | None
    ) -> str:
        """POST /v2/enqueue; PagerDuty answers 202 with the dedup key it filed the event under."""
        try:
            routing_key = env.from_env(routing_key_env, "PagerDuty")
        except errors.UnavailableError as exc:
            raise DeliveryError(errors.Said("env_not_set", variable=routing_key_env), temporary=True) from exc
        event: dict[str, Any] = {"routing_key": routing_key, "event_action": event_action, "dedup_key": dedup_key}
        if payload is not None:
            event["payload"] = dict(payload)
        answer = await self._http.call("POST", self._events_url, headers={"Accept": "application/json"}, body=event)
        return str(answer.get("dedup_key") or dedup_key) if isinstance(answer, dict) else dedup_key

    async def on_call(self, *, token_env: str, escalation_policy: str) -> list[OnCall]:
        """GET /oncalls for one escalation policy, lowest level first."""
        token = env.from_env(token_env, "PagerDuty")
        try:
            answer = await self._http.call(
                "GET",
                f"{self._api}oncalls",
                headers={"Authorization": f"Token token={token}", "Accept": REST_ACCEPT},
                params={"escalation_policy_ids[]": escalation_policy},
            )
        except DeliveryError as exc:
            raise errors.UnavailableError("PagerDuty", exc.said) from exc
        found: list[OnCall] = []
        for entry in answer.get("oncalls", []) if isinstance(answer, dict) else []:
            user = entry.get("user") or {}
            schedule = entry.get("schedule") or {}
            found.append(
                OnCall(
                    level=int(entry.get("escalation_level") or 0),
                    name=str(user.get("summary") or user.get("name") or ""),  # "": unnamed (the template says so)
                    schedule=str(schedule.get("summary") or ""),
                )
            )
        return sorted(found, key=lambda o: o.level)

    async def close(self) -> None:
        await self._http.close()
