"""Health checks per catalog service and the report built from them (issue 6)."""
