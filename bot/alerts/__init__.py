"""Alertmanager webhook → one Slack message per alert group, with buttons for the runbook procedures.

`payload` (webhook version 4), `routing` (rules → service, suggestions, channel) and
`refs` (groupKey → message, in Redis). The catalog's `alerts:` section is `bot.catalog_alerts`
(the catalog is below every feature); the Slack side, the messages (templates `alert_group` and
`alert_digest`, filled by `bot.slack.alert_contexts`) and per-channel queues with flood control and
retries (`bot.slack.alert_dispatch`), is in the Slack layer.
"""
