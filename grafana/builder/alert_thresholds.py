"""Alert thresholds, read from prometheus/thresholds.yml so panels are coloured exactly as the alerts fire."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

THRESHOLDS_FILE = Path(__file__).resolve().parent.parent.parent / "prometheus" / "thresholds.yml"


@cache
def _all() -> dict[str, float]:
    return yaml.safe_load(THRESHOLDS_FILE.read_text())["thresholds"]


def value(key: str) -> float:
    """The threshold ``key`` of prometheus/thresholds.yml; raises KeyError for an unknown key."""
    return _all()[key]


def link(key: str) -> str:
    """The link ``key`` of prometheus/thresholds.yml (``grafana_url``, ``runbook_url``)."""
    return yaml.safe_load(THRESHOLDS_FILE.read_text())["links"][key]
