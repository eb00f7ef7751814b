-- One-shot jobs (incident reminders, maintenance notices): the table is the schedule, so a restart
-- loses nothing, and a claim (pending → claimed) makes each fire happen on one replica only.
CREATE TABLE scheduled_jobs (
    id          uuid        PRIMARY KEY,
    kind        text        NOT NULL,
    key         text        NOT NULL UNIQUE,
    run_at      timestamptz NOT NULL,
    payload     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    state       text        NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'claimed', 'done', 'failed', 'cancelled', 'missed')),
    claimed_by  text,
    claimed_at  timestamptz,
    late        boolean     NOT NULL DEFAULT false,
    error       text
);
CREATE INDEX scheduled_jobs_due_idx ON scheduled_jobs (run_at) WHERE state = 'pending';
