"""Lint of the generated rule files: names, labels, annotations, metric names and rate windows."""

import re

import pytest
import yaml
from prometheus_client.utils import floatToGoString

from grafana.builder import build_all
from tests.promql_names import PLATFORM_SERIES, metric_names, recorded_names
from tests.rules.rule_files import (
    ALERTMANAGER_CONFIG,
    DASHBOARD_UIDS,
    PROMETHEUS_CONFIG,
    SEVERITIES,
    alert_rules,
    anchor,
    load_rules,
    parse_duration,
    range_durations,
    runbook_sections,
)
from voice_monitoring.shared import catalogue

RUNBOOK_BOARD = build_all()["voice-runbook"]
THRESHOLDS = yaml.safe_load((PROMETHEUS_CONFIG.parent / "thresholds.yml").read_text())
GRAFANA_URL = THRESHOLDS["links"]["grafana_url"]
PLATFORM_METRICS = PLATFORM_SERIES
CAMEL_CASE = re.compile(r"^[A-Z][a-z0-9]*(?:[A-Z]+[a-z0-9]*)*$")
RECORD_NAME = re.compile(r"^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z0-9_]+$")

ALERTS = alert_rules()
RULES = load_rules()


def scrape_interval() -> float:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    return parse_duration(config["global"]["scrape_interval"])


def unknown_metrics(expr: str) -> set[str]:
    known = catalogue.series_names() | recorded_names() | PLATFORM_METRICS
    return metric_names(expr) - known


def short_ranges(expr: str, interval: float) -> list[str]:
    return [d for d in range_durations(expr) if parse_duration(d) < 4 * interval]


def rule_id(rule):
    return f"{rule.file}:{rule.alert or rule.record}:{rule.labels.get('window', '')}".rstrip(":")


@pytest.mark.parametrize("rule", ALERTS, ids=rule_id)
def test_alert_is_named_labelled_and_annotated(rule):
    assert CAMEL_CASE.match(rule.alert), f"{rule.alert} is not CamelCase"
    assert rule.labels.get("severity") in SEVERITIES
    annotations = rule.annotations
    assert set(annotations) == {"summary", "description", "runbook_url", "dashboard_url"}
    assert "{{" not in annotations["summary"] and "$" not in annotations["summary"], "summary must be plain"
    assert annotations["summary"].endswith("."), "summary must be a sentence"
    assert "{{" in annotations["description"], "description must be templated with the values that matter"
    assert annotations["runbook_url"].startswith(("http://", "https://")), "a runbook link must be absolute"
    link = re.fullmatch(re.escape(GRAFANA_URL) + r"/d/([\w-]+)(\?.*)?", annotations["dashboard_url"])
    assert link and link.group(1) in DASHBOARD_UIDS


@pytest.mark.parametrize("rule", ALERTS, ids=rule_id)
def test_runbook_link_opens_the_alerts_section(rule):
    """By default the link opens the alert's panel on the Runbook dashboard, which shows its runbook section."""
    link = re.fullmatch(
        re.escape(GRAFANA_URL) + r"/d/voice-runbook\?viewPanel=panel-(\d+)", rule.annotations["runbook_url"]
    )
    assert link, rule.annotations["runbook_url"]
    [panel] = [p for p in RUNBOOK_BOARD["panels"] if p["id"] == int(link.group(1))]
    assert panel["title"] == rule.alert
    assert panel["options"]["content"].strip() == runbook_sections()[rule.alert].strip()
    assert anchor(rule.alert) == rule.alert.lower()


@pytest.mark.parametrize("rule", RULES, ids=rule_id)
def test_every_metric_a_rule_reads_is_known(rule):
    if rule.alert != "Watchdog":
        assert metric_names(rule.expr), f"no metric found in {rule.expr!r}"
    assert not unknown_metrics(rule.expr)


@pytest.mark.parametrize("rule", RULES, ids=rule_id)
def test_rate_windows_cover_at_least_four_scrapes(rule):
    assert not short_ranges(rule.expr, scrape_interval())


BUCKET_MATCHER = re.compile(r'(\w+)_bucket\{[^}]*\ble="([^"]*)"')


def bad_bucket_matchers(expr: str) -> list[str]:
    """le="..." matchers that name no bucket of the histogram exactly as the exporter writes it."""
    bad = []
    for name, le in BUCKET_MATCHER.findall(expr):
        buckets = catalogue.metric(name).buckets
        if le not in {floatToGoString(b) for b in buckets}:
            bad.append(f"{name}{{le={le!r}}}")
    return bad


@pytest.mark.parametrize("rule", [r for r in RULES if "_bucket{" in r.expr], ids=rule_id)
def test_bucket_matchers_name_real_buckets(rule):
    assert not bad_bucket_matchers(rule.expr)


@pytest.mark.parametrize("rule", [r for r in RULES if r.record], ids=rule_id)
def test_recording_rules_are_named_level_metric_operations(rule):
    assert RECORD_NAME.match(rule.record), rule.record


def test_alerts_read_fleet_series_not_per_call_series():
    per_call = {m.name for m in catalogue.METRICS if m.scope == catalogue.PER_CALL}
    for rule in ALERTS:
        assert not metric_names(rule.expr) & per_call, f"{rule.alert} reads per-call series directly"


def test_lint_notices_an_unknown_metric_a_short_window_and_a_bad_name():
    expr = 'sum by (provider) (rate(ai_agent_turns_totl{provider="x"}[30s])) / on (provider) up'
    assert unknown_metrics(expr) == {"ai_agent_turns_totl"}
    assert short_ranges(expr, 15) == ["30s"]
    assert short_ranges("max_over_time(up[1h:10s])", 15) == ["10s"]
    assert metric_names('histogram_quantile(0.95, sum by (le) (rate(a_bucket{le="0.8"}[5m]))) > bool 1') == {"a_bucket"}
    assert metric_names("a:b:c / ignoring (component) group_left () (sum(rate(d_total[5m])) > 0) and on () e") == {
        "a:b:c",
        "d_total",
        "e",
    }
    assert bad_bucket_matchers('rate(ai_agent_turn_response_seconds_bucket{le="0.80"}[5m])') == [
        "ai_agent_turn_response_seconds{le='0.80'}"
    ]
    assert not bad_bucket_matchers('rate(ai_agent_jitter_buffer_depth_frames_bucket{le="0.0"}[5m])')
    assert not CAMEL_CASE.match("high_turn_latency")
    assert CAMEL_CASE.match("VADConfidenceLow") and CAMEL_CASE.match("TurnLatencySLOBurn")


def inhibition_reset_seconds(rule, records: dict) -> float:
    """How long after an outage ends an alert can still fire: its rate windows (its own and those of the
    recording rules it reads) plus its ``for``.  A multi-window burn-rate alert clears with its short window."""
    windows, pending = [], [rule.expr]
    while pending:
        expr = pending.pop()
        windows += [parse_duration(d) for d in range_durations(expr)]
        pending += [records[name].expr for name in metric_names(expr) & records.keys()]
    settle = min(windows) if "window" in rule.labels else max(windows)
    return settle + parse_duration(rule.body.get("for", "0s"))


def test_the_provider_recovery_window_outlasts_every_alert_it_inhibits():
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    [rule] = [r for r in config["inhibit_rules"] if "ProviderRecentlyDown" in r["source_matchers"][0]]
    names = re.fullmatch(r'alertname=~"([\w|]+)"', rule["target_matchers"][0]).group(1).split("|")
    spared = re.fullmatch(r'window!~"([\w|]+)"', rule["target_matchers"][1]).group(1).split("|")
    records = {r.record: r for r in load_rules() if r.record}
    window = parse_duration(THRESHOLDS["thresholds"]["provider_recovery_window"])
    inhibited = [r for r in alert_rules() if r.alert in names and r.labels.get("window") not in spared]
    assert {r.alert for r in inhibited} == set(names)
    for alert in inhibited:
        reset = inhibition_reset_seconds(alert, records)
        assert window >= reset, f"{alert.alert} can fire {reset:.0f}s after an outage; the window is {window:.0f}s"
