-- Executions of runbook procedures, the append-only audit log, and scheduler fire claims.

CREATE TABLE executions (
    id           uuid PRIMARY KEY,
    procedure    text        NOT NULL,
    args         jsonb       NOT NULL,
    service      text,
    lock_key     text,
    requester    text        NOT NULL,
    team_id      text,
    channel_id   text        NOT NULL,
    message_ts   text,
    response_url text,
    approval     text        NOT NULL CHECK (approval IN ('none', 'two_person')),
    state        text        NOT NULL CHECK (state IN
                   ('pending', 'running', 'succeeded', 'failed', 'cancelled', 'expired', 'interrupted')),
    approver     text,
    owner        text,        -- the replica running it; heartbeat_at says it is still alive
    heartbeat_at timestamptz,
    preview      jsonb,
    steps        jsonb       NOT NULL DEFAULT '[]'::jsonb,
    error        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    started_at   timestamptz,
    finished_at  timestamptz
);
CREATE INDEX executions_state_idx ON executions (state);
CREATE INDEX executions_service_created_idx ON executions (service, created_at DESC);
CREATE INDEX executions_created_idx ON executions (created_at DESC);

CREATE TABLE audit_log (
    seq          bigserial   PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    kind         text        NOT NULL,
    actor        text        NOT NULL,
    channel_id   text,
    execution_id uuid,
    procedure    text,
    detail       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    prev_hash    text        NOT NULL,
    hash         text        NOT NULL
);
CREATE INDEX audit_log_execution_idx ON audit_log (execution_id);

-- The audit log is append-only: the bot's own role cannot change history by mistake.
-- (A superuser can still disable the trigger; `runbook-bot audit verify` catches that via the hash chain.)
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- One row per (job, scheduled fire time): the replica whose INSERT wins posts; the others skip.
CREATE TABLE scheduler_fires (
    job_id      text        NOT NULL,
    fire_at     timestamptz NOT NULL,
    claimed_by  text        NOT NULL,
    claimed_at  timestamptz NOT NULL DEFAULT now(),
    late        boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (job_id, fire_at)
);
