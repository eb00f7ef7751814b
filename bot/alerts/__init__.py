"""Alertmanager webhook → one Slack message per alert group, with buttons for the runbook procedures.

`config` (the catalog's `alerts:` section), `payload` (webhook version 4), `routing`
(rules → service, suggestions, channel), `messages` (Block Kit), `refs` (groupKey →
message, in Redis) and `dispatch` (per-channel queues: flood control and retries).
Kept import-light: `bot.catalog` imports `bot.alerts.config`.
"""
