-- Slack request signatures seen while Redis was unavailable (issue 14): replay protection falls back
-- to PostgreSQL instead of being skipped. Rows older than the replay window are deleted as new ones come.
CREATE TABLE seen_signatures (
    fingerprint  text        PRIMARY KEY,  -- sha256 of the X-Slack-Signature header
    seen_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX seen_signatures_seen_at_idx ON seen_signatures (seen_at);
