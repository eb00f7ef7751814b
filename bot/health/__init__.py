"""Health checks per catalog service and the report they make (issue 6), as data: its messages are the
templates health_report and health_detail, filled by bot.slack.health_contexts."""
