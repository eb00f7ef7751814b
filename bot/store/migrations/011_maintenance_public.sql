-- Maintenance windows reach the status page as Statuspage scheduled maintenances (issue 23).

-- The scheduled maintenance a window became, once its create was delivered: later steps (start or
-- complete early, cancel) patch it, and a retried create finds it and is not sent again.
ALTER TABLE maintenance_windows ADD COLUMN statuspage_incident_id text;
-- The announcement in Slack: the status page preview goes in its thread.
ALTER TABLE maintenance_windows ADD COLUMN message_ts text;

-- A window's status page timeline, as data (the words come from templates): a step previewed,
-- confirmed or cancelled by someone, or what the outbox worker made of it.
CREATE TABLE maintenance_events (
    seq            bigserial   PRIMARY KEY,
    maintenance_id bigint      NOT NULL REFERENCES maintenance_windows (id),
    at             timestamptz NOT NULL,
    kind           text        NOT NULL,   -- public (a person decided a preview), status page (the worker)
    actor          text        NOT NULL,
    action         text        NOT NULL,   -- create, reschedule, start, complete, cancel
    outcome        text        NOT NULL,   -- confirmed, cancelled; delivered, pending, refused, orphaned
    detail         text        NOT NULL DEFAULT ''  -- what Statuspage answered, when it refused or failed
);
CREATE INDEX maintenance_events_window_idx ON maintenance_events (maintenance_id, seq);

-- Drafts and outbox rows belong to an incident or to a maintenance window, never both.
ALTER TABLE public_drafts ALTER COLUMN incident_id DROP NOT NULL;
ALTER TABLE public_drafts ADD COLUMN maintenance_id bigint REFERENCES maintenance_windows (id);
ALTER TABLE public_drafts ADD CONSTRAINT public_drafts_subject CHECK (num_nonnulls(incident_id, maintenance_id) = 1);
ALTER TABLE public_drafts DROP CONSTRAINT public_drafts_action_check;
ALTER TABLE public_drafts ADD CONSTRAINT public_drafts_action_check
    CHECK (action IN ('create', 'update', 'resolve', 'reschedule', 'start', 'complete', 'cancel'));

ALTER TABLE outbox ALTER COLUMN incident_id DROP NOT NULL;
ALTER TABLE outbox ADD COLUMN maintenance_id bigint REFERENCES maintenance_windows (id);
ALTER TABLE outbox ADD CONSTRAINT outbox_subject CHECK (num_nonnulls(incident_id, maintenance_id) = 1);
-- The worker's claim of a window's rows, in order.
CREATE INDEX outbox_maintenance_idx ON outbox (maintenance_id, target, id) WHERE maintenance_id IS NOT NULL;
