"""Incident and maintenance communications: templates, incidents, maintenance windows."""
