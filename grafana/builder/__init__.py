"""The stack's Grafana dashboards, written with grafana-foundation-sdk.

``python -m dashboards`` renders every dashboard to ``grafana/dashboards/<uid>.json``.
"""

from dashboards.catalog import DASHBOARDS, build_all, render

__all__ = ["DASHBOARDS", "build_all", "render"]
