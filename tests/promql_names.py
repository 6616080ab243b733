"""Metric names in PromQL text, and the names the recording rules record: the one reader both the rule lint
(tests/rules/) and the dashboard lint (tests/dashboards/) use, so the two cannot disagree about a query.

PromQL is read just far enough to find the series an expression selects: strings, label matchers, range and
subquery windows, label lists, Grafana variables, function calls and keywords are set aside, and every
remaining identifier is a metric name (including recorded names such as level:metric:operations).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# Series Prometheus and Alertmanager publish about themselves, the ones Prometheus synthesizes, and blackbox_exporter's
# results of a probe of a provider endpoint (job provider_probe).
PLATFORM_SERIES = {
    "up",
    "ALERTS",
    "ALERTS_FOR_STATE",
    "prometheus_rule_evaluation_failures_total",
    "alertmanager_notifications_total",
    "alertmanager_notifications_failed_total",
    "probe_success",
    "probe_duration_seconds",
    "probe_http_duration_seconds",
    "probe_http_status_code",
    "probe_ssl_earliest_cert_expiry",
}
RULES_DIR = ROOT / "prometheus" / "rules"

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_VARIABLE = re.compile(r"\$\{[^}]*\}|\$\w+")  # Grafana template variables: $provider, ${provider}, $__range
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_LABEL_LISTS = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w.:$])([a-zA-Z_:][\w:]*)(\s*\()?")
# Compared lower-cased: PromQL keywords and Inf/NaN are case-insensitive.
KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "inf",
    "nan",
    "atan2",
}


def metric_names(expr: str) -> set[str]:
    """Metric names an expression selects (function names, keywords, label names and variables excluded)."""
    text = _STRING.sub('""', expr)
    text = _VARIABLE.sub(" ", text)
    text = _LABEL_LISTS.sub(" ", text)
    text = _MATCHERS.sub(" ", text)
    text = _RANGE.sub(" ", text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        name, call = match.groups()
        if call or name.lower() in KEYWORDS:
            continue
        names.add(name)
    return names


def recorded_names(rules_dir: Path = RULES_DIR) -> set[str]:
    """Every name a recording rule records, in the rule files Prometheus loads (prometheus.yml: rules/*.yml)."""
    names = set()
    for path in sorted(rules_dir.glob("*.yml")):
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups") or []:
            names.update(rule["record"] for rule in group.get("rules") or [] if "record" in rule)
    return names
