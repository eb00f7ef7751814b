"""The incident timeline entries the outbox worker writes (kinds `status page` and `pager`), and the
clicks on a status page preview (kind `public`): stored as
data (JSON in the event's text) and worded only when shown (templates/incident_timeline.yml.j2), like
the runbook guide's entries. Entries written before this were worded text; they are shown as they are."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

# How an attempt ended, as the timeline tells it.
DELIVERED = "delivered"
REFUSED = "refused"  # a 4xx other than a rate limit: not retried
RETRYING = "retrying"  # the first temporary failure of a row (later ones add no line)
# Someone's click on a status page preview (kind `public`): the step was queued, or not.
CONFIRMED = "confirmed"
CANCELLED = "cancelled"


@dataclass(frozen=True)
class Delivery:
    target: str  # statuspage, pagerduty
    action: str  # create, update, resolve; trigger, resolve
    outcome: str  # DELIVERED, REFUSED, RETRYING; CONFIRMED, CANCELLED (a preview's click)
    page: str = ""  # the Statuspage page id
    # The public names of the incident's services on that page (a preview's click: the pages' names).
    services: tuple[str, ...] = ()
    status: str = ""  # the public status the call sets
    reason: str = ""  # what the other side answered (refused, retrying)
    dedup_key: str = ""  # PagerDuty's


def encode(delivery: Delivery) -> str:
    return json.dumps({"outbox": asdict(delivery)}, ensure_ascii=False)


def read(text: str) -> Delivery | None:
    """The entry's data; None for text that is not (an entry from before, written as words)."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    found = data.get("outbox") if isinstance(data, dict) else None
    if not isinstance(found, dict):
        return None
    names = {f.name for f in fields(Delivery)} - {"services"}
    values = {k: v for k, v in found.items() if k in names and isinstance(v, str)}
    if not {"target", "action", "outcome"} <= values.keys():
        return None
    return Delivery(**values, services=names_of(found.get("services")))


def names_of(value: object) -> tuple[str, ...]:
    """Names stored as a list; an entry or a draft written before kept them as one text, shown as it is."""
    if isinstance(value, list):
        return tuple(str(name) for name in value)
    return (value,) if isinstance(value, str) and value else ()
