-- Guides opened in chat (issue 19): which section was opened where, by whom, and the incident it
-- serves, so steps clicked in its message are added to that incident's timeline. The link is kept
-- here, server-side: a button never carries an incident id that a forged click could change.
CREATE TABLE guide_sessions (
    channel_id   text        NOT NULL,
    message_ts   text        NOT NULL,   -- the section message; its thread holds what was done from it
    guide        text        NOT NULL,
    section      text        NOT NULL,
    opened_by    text        NOT NULL,
    opened_at    timestamptz NOT NULL,
    incident_id  bigint      REFERENCES incidents (id),
    PRIMARY KEY (channel_id, message_ts)
);
