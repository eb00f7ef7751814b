"""Health checks per catalog service and the report they make (issue 6); its Block Kit is bot.slack.health_views."""
