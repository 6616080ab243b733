"""Reading metric names out of PromQL text, for the dashboard lint and the live test."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from exporter import catalogue

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "prometheus" / "rules"
PROMETHEUS_SERIES = {"up", "ALERTS", "ALERTS_FOR_STATE"}

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_BRACES = re.compile(r"\{[^}]*\}")
_WINDOW = re.compile(r"\[[^\]]*\]")
_IDENT = re.compile(r"(?<![\w:$.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()")
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
            "offset", "inf", "nan", "Inf", "NaN"}


def metric_names(expr: str) -> set[str]:
    """The series names a PromQL expression reads."""
    text = _STRING.sub('""', expr)
    text = _GROUPING.sub(" ", text)
    text = _BRACES.sub(" ", text)
    text = _WINDOW.sub(" ", text)
    text = re.sub(r"\$\w+", " ", text)
    return {name for name in _IDENT.findall(text) if name not in KEYWORDS}


def recorded_names() -> set[str]:
    names = set()
    for path in sorted(RULES.glob("*.yml")) + sorted(RULES.glob("*.yaml")):
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups", []):
            names.update(rule["record"] for rule in group.get("rules", []) if "record" in rule)
    return names


def known_names() -> set[str]:
    return catalogue.series_names() | recorded_names() | PROMETHEUS_SERIES


def counters() -> set[str]:
    return {m.name for m in catalogue.METRICS if m.type == "counter"}
