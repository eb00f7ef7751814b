"""Atlassian Statuspage REST API v1: create and update an incident (and its components' status), and
find an unresolved incident or a scheduled maintenance by its metadata.

`Authorization: OAuth <key>`, the key read from the environment variable the catalog names, at
the moment of the call (a key set later is picked up without a restart).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot import errors
from bot.targets import env
from bot.targets.outbound import DeliveryError, JsonApi

# `GET …/incidents/unresolved` (`…/upcoming`, `…/scheduled`) answers at most `per_page` (up to 100) incidents
# per page of results.
PER_PAGE = 100
# How far the search goes (2,000 incidents of a list, far more than a real page has): the bound keeps
# a misbehaving answer (the same full page again and again) from looping forever.
MAX_RESULT_PAGES = 20


class Statuspage:
    def __init__(self, base_url: str, *, api_key_env: str, timeout: float) -> None:
        self._base = base_url.rstrip("/") + "/"
        self._api_key_env = api_key_env
        self._api = JsonApi(timeout=timeout)

    def _headers(self) -> dict[str, str]:
        try:
            key = env.from_env(self._api_key_env, "Statuspage")
        except errors.UnavailableError as exc:
            raise DeliveryError(errors.Said("env_not_set", variable=self._api_key_env), temporary=True) from exc
        return {"Authorization": f"OAuth {key}", "Accept": "application/json"}

    async def create_incident(self, page_id: str, incident: Mapping[str, Any]) -> str:
        """POST /pages/{page_id}/incidents; the new incident's id."""
        answer = await self._api.call(
            "POST", f"{self._base}pages/{page_id}/incidents", headers=self._headers(), body={"incident": incident}
        )
        incident_id = answer.get("id") if isinstance(answer, dict) else None
        if not isinstance(incident_id, str) or not incident_id:
            raise DeliveryError(errors.Said("statuspage_no_incident_id"), temporary=True)
        return incident_id

    async def find_unresolved(self, page_id: str, metadata: Mapping[str, Mapping[str, str]]) -> str | None:
        """The id of the page's unresolved incident whose metadata holds every key and value of `metadata`."""
        return await self._find_listed(page_id, "unresolved", metadata)

    async def find_scheduled(self, page_id: str, metadata: Mapping[str, Mapping[str, str]]) -> str | None:
        """The id of the page's scheduled maintenance whose metadata holds `metadata` (maintenances are not
        in the unresolved list): the upcoming ones first, where a create whose answer was just lost is, then
        every scheduled one, for a maintenance Statuspage has moved along on its own clock since."""
        for listing in ("upcoming", "scheduled"):
            found = await self._find_listed(page_id, listing, metadata)
            if found is not None:
                return found
        return None

    async def _find_listed(self, page_id: str, listing: str, metadata: Mapping[str, Mapping[str, str]]) -> str | None:
        """GET /pages/{page_id}/incidents/{listing}, page by page: the first incident whose metadata
        holds every key and value of `metadata` (Statuspage's metadata is objects at the top level)."""
        for number in range(1, MAX_RESULT_PAGES + 1):
            answer = await self._api.call(
                "GET",
                f"{self._base}pages/{page_id}/incidents/{listing}",
                headers=self._headers(),
                params={"page": str(number), "per_page": str(PER_PAGE)},
            )
            if not isinstance(answer, list):  # not knowing is not "absent": creating now could duplicate
                said = errors.Said("statuspage_no_list", listing=listing)
                raise DeliveryError(said, temporary=True)
            listed: list[Any] = answer
            for incident in listed:
                if isinstance(incident, dict) and _carries(incident.get("metadata"), metadata):
                    found = incident.get("id")
                    if isinstance(found, str) and found:
                        return found
            if len(listed) < PER_PAGE:
                return None
        return None

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


def _carries(stored: object, wanted: Mapping[str, Mapping[str, str]]) -> bool:
    if not isinstance(stored, dict):
        return False
    for group, values in wanted.items():
        held = stored.get(group)
        if not isinstance(held, dict) or any(held.get(k) != v for k, v in values.items()):
            return False
    return True
