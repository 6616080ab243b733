"""The names a dashboard query may read, for the dashboard lint and the live test.

Metric names and recorded names come from tests/promql_names.py, the reader the rule lint uses too.
"""

from __future__ import annotations

from tests.promql_names import PLATFORM_SERIES, recorded_names
from voice_monitoring.shared import catalogue


def known_names() -> set[str]:
    return catalogue.series_names() | recorded_names() | PLATFORM_SERIES


def counters() -> set[str]:
    return {m.name for m in catalogue.METRICS if m.type == "counter"}
