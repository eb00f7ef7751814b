-- Incidents, their timeline, and maintenance windows (issue 5: communications from templates).

CREATE TABLE incidents (
    id            bigserial   PRIMARY KEY,  -- shown to people as #id: short enough to type
    title         text        NOT NULL,
    severity      text        NOT NULL,
    impact        text        NOT NULL DEFAULT '',
    services      text[]      NOT NULL DEFAULT '{}',
    lead          text        NOT NULL,
    declared_by   text        NOT NULL,
    state         text        NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'resolved')),
    channel_id    text        NOT NULL,
    message_ts    text,          -- the initial notice; reminders and updates go in its thread
    root_cause    text,
    resolution    text,
    declared_at   timestamptz NOT NULL,
    resolved_at   timestamptz
);
CREATE INDEX incidents_state_idx ON incidents (state, declared_at DESC);

-- Every event of an incident, append-only: the timeline a post-mortem starts from.
CREATE TABLE incident_events (
    seq          bigserial   PRIMARY KEY,
    incident_id  bigint      NOT NULL REFERENCES incidents (id),
    at           timestamptz NOT NULL,
    kind         text        NOT NULL,   -- declared, update, reminder, snoozed, resolved
    actor        text        NOT NULL,
    text         text        NOT NULL DEFAULT ''
);
CREATE INDEX incident_events_incident_idx ON incident_events (incident_id, seq);

CREATE TABLE maintenance_windows (
    id           bigserial   PRIMARY KEY,
    purpose      text        NOT NULL,
    services     text[]      NOT NULL DEFAULT '{}',
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL,
    state        text        NOT NULL DEFAULT 'scheduled'
                 CHECK (state IN ('scheduled', 'in_progress', 'completed', 'cancelled')),
    channel_id   text        NOT NULL,
    created_by   text        NOT NULL,
    created_at   timestamptz NOT NULL,
    cancelled_by text
);
CREATE INDEX maintenance_windows_state_idx ON maintenance_windows (state, starts_at);
