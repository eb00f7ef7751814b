"""Atlassian Statuspage REST API v1: create and update an incident (and its components' status).

`Authorization: OAuth <key>`, the key read from the environment variable the catalog names, at
the moment of the call (a key set later is picked up without a restart).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot import errors
from bot.targets import env
from bot.targets.outbound import DeliveryError, JsonApi


class Statuspage:
    def __init__(self, base_url: str, *, api_key_env: str, timeout: float) -> None:
        self._base = base_url.rstrip("/") + "/"
        self._api_key_env = api_key_env
        self._api = JsonApi(timeout=timeout)

    def _headers(self) -> dict[str, str]:
        try:
            key = env.from_env(self._api_key_env, "Statuspage")
        except errors.UnavailableError as exc:
            raise DeliveryError(f"environment variable {self._api_key_env} is not set", temporary=True) from exc
        return {"Authorization": f"OAuth {key}", "Accept": "application/json"}

    async def create_incident(self, page_id: str, incident: Mapping[str, Any]) -> str:
        """POST /pages/{page_id}/incidents; the new incident's id."""
        answer = await self._api.call(
            "POST", f"{self._base}pages/{page_id}/incidents", headers=self._headers(), body={"incident": incident}
        )
        incident_id = answer.get("id") if isinstance(answer, dict) else None
        if not isinstance(incident_id, str) or not incident_id:
            raise DeliveryError("Statuspage answered without an incident id", temporary=True)
        return incident_id

    async def update_incident(self, page_id: str, incident_id: str, incident: Mapping[str, Any]) -> None:
        """PATCH /pages/{page_id}/incidents/{incident_id}: a new status, a new update, components."""
        await self._api.call(
            "PATCH",
            f"{self._base}pages/{page_id}/incidents/{incident_id}",
            headers=self._headers(),
            body={"incident": incident},
        )

    async def close(self) -> None:
        await self._api.close()
