-- Incidents reach Statuspage and PagerDuty (issue 23).

-- The Statuspage incident an incident became, once its create was delivered: updates and the
-- resolve patch it, and a retried create after a restart finds it and is not sent again.
ALTER TABLE incidents ADD COLUMN statuspage_incident_id text;

-- What customers would read, as previewed in Slack: nothing public is queued until someone allowed
-- to publish confirms it (pending → confirmed or cancelled, exactly once).
CREATE TABLE public_drafts (
    id           bigserial   PRIMARY KEY,
    incident_id  bigint      NOT NULL REFERENCES incidents (id),
    action       text        NOT NULL CHECK (action IN ('create', 'update', 'resolve')),
    payload      jsonb       NOT NULL,   -- exactly what the preview showed and the outbox will send
    requested_by text        NOT NULL,
    created_at   timestamptz NOT NULL,
    state        text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'confirmed', 'cancelled')),
    decided_by   text,
    decided_at   timestamptz,
    channel_id   text,
    message_ts   text                    -- the preview message, updated when it is decided
);

-- Every call to Statuspage or PagerDuty, written in the transaction of the incident change that
-- causes it and delivered by the outbox worker: retried with backoff until delivered or refused.
CREATE TABLE outbox (
    id              bigserial   PRIMARY KEY,
    incident_id     bigint      NOT NULL REFERENCES incidents (id),
    target          text        NOT NULL CHECK (target IN ('statuspage', 'pagerduty')),
    action          text        NOT NULL,   -- statuspage: create, update, resolve; pagerduty: trigger, resolve
    payload         jsonb       NOT NULL,
    state           text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'refused')),
    attempts        integer     NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    claimed_until   timestamptz,            -- a replica is delivering it until then
    last_error      text,
    delivered_at    timestamptz
);
-- The worker's claim: the oldest due row of each incident and target, in order.
CREATE INDEX outbox_pending_idx ON outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_incident_idx ON outbox (incident_id, target, id);
