"""The Alertmanager webhook payload (version 4), validated at the trust boundary.

Grafana-managed alerting sends the same layout with `"version": "1"` and a few fields of its own
(`orgId`, `title`, `state`, `message`); it is accepted as such. Unknown fields are ignored so a newer
Alertmanager or Grafana still gets through; any other `version` is refused. `trimmed()` bounds
what we keep in memory and in Redis: a group of thousands of alerts, or a megabyte of description,
becomes a bounded copy whose `truncatedAlerts` says how many alerts were left out.
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MAX_ALERTS_KEPT = 20
MAX_VALUE_CHARS = 2000
MAX_ITEMS = 40  # labels/annotations per mapping
# groupKey is an identity, so a long one is replaced by its hash (same group, same key) rather than cut;
# it is stored with every message's groups in Redis for a week, so it must not be a megabyte.
MAX_GROUP_KEY_CHARS = 512
MAX_RECEIVER_CHARS = 200


ALERTMANAGER_VERSION = "4"
GRAFANA_VERSION = "1"  # Grafana-managed alerting's webhook contact point


class PayloadError(ValueError):
    """The body is not an Alertmanager (version 4) or Grafana (version 1) webhook; the message says why
    (sent back as the 400)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


def _bounded_group_key(group_key: str) -> str:
    if len(group_key) <= MAX_GROUP_KEY_CHARS:
        return group_key
    return "sha256:" + hashlib.sha256(group_key.encode("utf-8", errors="surrogatepass")).hexdigest()


def _bounded(mapping: dict[str, str]) -> dict[str, str]:
    return {k[:200]: v[:MAX_VALUE_CHARS] for k, v in list(mapping.items())[:MAX_ITEMS]}


class Alert(_Model):
    status: Literal["firing", "resolved"]
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    starts_at: str = Field(default="", alias="startsAt")
    ends_at: str = Field(default="", alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = ""

    def trimmed(self) -> Alert:
        return self.model_copy(
            update={
                "labels": _bounded(self.labels),
                "annotations": _bounded(self.annotations),
                "generator_url": self.generator_url[:MAX_VALUE_CHARS],
            }
        )


class Notification(_Model):
    """One webhook delivery: the current state of one alert group (`groupKey`)."""

    version: Literal["4", "1"]
    group_key: str = Field(alias="groupKey", min_length=1)
    truncated_alerts: int = Field(default=0, alias="truncatedAlerts", ge=0)
    status: Literal["firing", "resolved"]
    receiver: str = ""
    group_labels: dict[str, str] = Field(default={}, alias="groupLabels")
    common_labels: dict[str, str] = Field(default={}, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default={}, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")
    alerts: list[Alert] = []
    # Grafana only: its organisation, and its own rendering of the group (title line, state, text).
    org_id: int | None = Field(default=None, alias="orgId")
    title: str = ""
    state: str = ""
    message: str = ""

    @property
    def firing(self) -> bool:
        return self.status == "firing"

    @property
    def alertname(self) -> str:
        return (
            self.common_labels.get("alertname")
            or self.group_labels.get("alertname")
            or next((a.labels["alertname"] for a in self.alerts if "alertname" in a.labels), "alert")
        )

    def trimmed(self) -> Notification:
        kept = self.alerts[:MAX_ALERTS_KEPT]
        return self.model_copy(
            update={
                "alerts": [a.trimmed() for a in kept],
                "truncated_alerts": self.truncated_alerts + len(self.alerts) - len(kept),
                "group_key": _bounded_group_key(self.group_key),
                "receiver": self.receiver[:MAX_RECEIVER_CHARS],
                "group_labels": _bounded(self.group_labels),
                "common_labels": _bounded(self.common_labels),
                "common_annotations": _bounded(self.common_annotations),
                "external_url": self.external_url[:MAX_VALUE_CHARS],
                "title": self.title[:MAX_VALUE_CHARS],
                "state": self.state[:200],
                "message": self.message[:MAX_VALUE_CHARS],
            }
        )

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True)


def parse(body: bytes) -> Notification:
    """Body → a trimmed Notification, or PayloadError with a reason fit for the caller."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"body is not JSON: {exc}") from None
    except RecursionError:
        raise PayloadError("body is not an Alertmanager webhook: JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise PayloadError("body is not a JSON object")
    version = str(data.get("version"))
    if version not in (ALERTMANAGER_VERSION, GRAFANA_VERSION):
        raise PayloadError(
            f'unsupported webhook version {data.get("version")!r}; expected "4" (Alertmanager) or "1" (Grafana)'
        )
    if version == GRAFANA_VERSION and "orgId" not in data:
        raise PayloadError('version "1" without orgId is not a Grafana-managed alerting webhook')
    try:
        return Notification.model_validate(data).trimmed()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        source = "a Grafana" if version == GRAFANA_VERSION else "an Alertmanager"
        raise PayloadError(f"not {source} webhook: {where}: {first['msg']}") from None
