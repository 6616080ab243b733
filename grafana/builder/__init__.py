"""The stack's Grafana dashboards, written with grafana-foundation-sdk.

``python -m grafana.builder`` renders every dashboard to ``grafana/dashboards/<uid>.json``.
"""

from grafana.builder.catalog import DASHBOARDS, build_all, render

__all__ = ["DASHBOARDS", "build_all", "render"]
