"""The names a dashboard query may read, for the dashboard lint and the live test.

Metric names and recorded names come from the reader the rule lint uses too (tests/promql_names.py).
"""

from __future__ import annotations

from tests.promql_names import PLATFORM_SERIES, metric_names, recorded_names  # noqa: F401  (re-exported)
from voice_monitoring.shared import catalogue

PROMETHEUS_SERIES = PLATFORM_SERIES


def known_names() -> set[str]:
    return catalogue.series_names() | recorded_names() | PROMETHEUS_SERIES


def counters() -> set[str]:
    return {m.name for m in catalogue.METRICS if m.type == "counter"}
