-- The status page exactly once across a crash, and on every page an incident touches (issue 23).

-- Each outbox row's own key, sent in the metadata of the Statuspage incident its create makes.
-- Statuspage has no idempotency key: a create accepted just before a crash (before our commit
-- recorded its id) would be sent again. A retried create first looks for the page's unresolved
-- incident carrying this key and adopts it. A uuid, not the row id: two deployments (staging and
-- production) posting to one page must never adopt each other's incidents.
ALTER TABLE outbox ADD COLUMN idempotency_key uuid NOT NULL DEFAULT gen_random_uuid();

-- The Statuspage incident of each (incident, page): an incident naming services on two pages has a
-- public incident on each, and each page's updates and resolve patch its own.
CREATE TABLE statuspage_incidents (
    incident_id            bigint NOT NULL REFERENCES incidents (id),
    page_id                text   NOT NULL,
    statuspage_incident_id text   NOT NULL,
    PRIMARY KEY (incident_id, page_id)
);
-- Until now an incident went to one page (its create row's): keep what was delivered there.
INSERT INTO statuspage_incidents (incident_id, page_id, statuspage_incident_id)
SELECT DISTINCT ON (i.id) i.id, o.payload ->> 'page_id', i.statuspage_incident_id
  FROM incidents i
  JOIN outbox o ON o.incident_id = i.id AND o.target = 'statuspage' AND o.action = 'create'
 WHERE i.statuspage_incident_id IS NOT NULL AND o.payload ? 'page_id'
 ORDER BY i.id, o.id;
ALTER TABLE incidents DROP COLUMN statuspage_incident_id;
