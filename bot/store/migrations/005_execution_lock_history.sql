-- A new request on a target looks up the last run there (was it interrupted?): one index lookup.
CREATE INDEX executions_lock_started_idx ON executions (lock_key, started_at DESC) WHERE started_at IS NOT NULL;
