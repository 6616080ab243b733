"""Build tools for the Prometheus rules (not part of the installed distribution)."""
