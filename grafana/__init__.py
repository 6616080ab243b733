"""Build tools for the Grafana dashboards (not part of the installed distribution)."""
