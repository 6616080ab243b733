"""Lints for the diagnosis path: joined tables, alert annotations, pinned colours, honest variables, cost windows,
links between dashboards and to the runbook, and a Call Detail that works for any call in the time range."""

import re

import pytest

from grafana.builder import build_all, colours, drilldown, links, runbook
from grafana.builder.board import ALERTS_ANNOTATION
from tests.dashboards.board_walk import data_links, panel_by_title, parse_url, queried_panels, series_labels
from tests.promql_names import metric_names
from tests.rules.rule_files import alert_rules

BOARDS = build_all()
# Label variables and the label each one filters (the vendor billed is the cost series' provider label).
FILTERED_LABEL = {
    "provider": "provider",
    "tenant": "tenant",
    "pipeline": "pipeline",
    "call_id": "call_id",
    "agent": "agent",
}
FILTERED_LABEL["vendor"] = "provider"
GRAFANA_DEFAULT_THRESHOLDS = [{"color": "green", "value": None}, {"color": "red", "value": 80}]


def _exprs(panel) -> list[str]:
    return [t["expr"] for t in panel["targets"]]


def _all_panels():
    for uid, board in BOARDS.items():
        for panel in queried_panels(board):
            yield uid, panel


def test_tables_of_several_queries_are_joined_on_call_id():
    joined = 0
    for uid, panel in _all_panels():
        kinds = [t["id"] for t in panel.get("transformations", [])]
        assert "merge" not in kinds, f"{uid} / {panel['title']}: merge keeps rows apart when __name__ differs"
        if panel["type"] == "table" and len(panel["targets"]) > 1:
            join = [t for t in panel["transformations"] if t["id"] == "joinByField"]
            # calls join on call_id; the agent versions compared on their "agent version" key
            assert join and join[0]["options"]["byField"] in ("call_id", "version"), (uid, panel["title"])
            joined += 1
    assert joined >= 3


def test_every_dashboard_annotates_firing_alerts_but_the_watchdog_on_every_panel():
    for uid, board in BOARDS.items():
        alerts = [a for a in board["annotations"]["list"] if a.get("expr") == ALERTS_ANNOTATION]
        assert len(alerts) == 1, uid
        assert alerts[0]["enable"] and not alerts[0].get("hide"), uid
        assert not alerts[0].get("filter"), f"{uid}: the alert annotation must reach every panel"
    assert 'alertname!="Watchdog"' in ALERTS_ANNOTATION and 'alertstate="firing"' in ALERTS_ANNOTATION


def test_links_and_annotation_toggles_sit_above_the_panels():
    """The SDK's default "inControlsMenu" is rendered nowhere by some Grafana 12 builds."""
    for uid, board in BOARDS.items():
        for item in board["links"] + board["annotations"]["list"]:
            assert "placement" not in item, (uid, item.get("title") or item.get("name"))


@pytest.mark.parametrize("uid", sorted(BOARDS))
def test_every_variable_filters_every_query_whose_series_carry_its_label(uid):
    board = BOARDS[uid]
    for variable in [v for v in board["templating"]["list"] if v["type"] == "query"]:
        label, used = FILTERED_LABEL[variable["name"]], 0
        for panel in queried_panels(board):
            for expr in _exprs(panel):
                if "$" + variable["name"] in expr:
                    used += 1
                    continue
                carried = {m for m in metric_names(expr) if label in series_labels(m)}
                if variable["name"] == "vendor":  # only spend and usage carry the vendor billed as provider
                    carried = {m for m in carried if m.startswith(("ai_agent_cost_usd", "ai_agent_usage"))}
                assert not carried, f"{uid} / {panel['title']}: ${variable['name']} does not filter {carried}"
        assert used, f"{uid}: ${variable['name']} filters nothing"


def test_the_vendor_billed_never_travels_as_provider():
    cost = BOARDS["voice-cost-tracking"]
    assert "provider" not in {v["name"] for v in cost["templating"]["list"]}
    for panel in queried_panels(cost):
        for expr in _exprs(panel):
            assert "$provider" not in expr, panel["title"]


def test_no_panel_inherits_grafana_default_red_at_80():
    for uid, panel in _all_panels():
        steps = panel["fieldConfig"]["defaults"].get("thresholds", {}).get("steps")
        assert steps, f"{uid} / {panel['title']}: thresholds left to Grafana's default (red at 80)"
        assert steps != GRAFANA_DEFAULT_THRESHOLDS, (uid, panel["title"])


def test_provider_and_state_colours_are_pinned():
    for uid, panel in _all_panels():
        pinned = {o["matcher"]["options"].get("pattern", "") for o in panel["fieldConfig"].get("overrides", [])} | {
            n for o in panel["fieldConfig"].get("overrides", []) for n in o["matcher"]["options"].get("names", [])
        }
        if any("{{provider}}" in t.get("legendFormat", "") for t in panel["targets"]):
            for provider in colours.PROVIDERS:
                assert any(provider in p for p in pinned), (uid, panel["title"], provider)
        if any(t.get("legendFormat") == "{{state}}" for t in panel["targets"]):
            assert set(colours.STATES) <= pinned, (uid, panel["title"])


# Panels whose lines mark a scale rather than an alert, and which scale.
SCALE_LINES = {
    ("voice-audio-quality", "MOS estimate"): "ITU-T G.107 satisfaction levels",
    ("voice-call-detail", "Score"): "the quality bands",
    ("voice-call-detail", "Turn response p95"): "the turn latency alert thresholds, applied to one call",
    ("voice-call-detail", "Barge-in reaction p95"): "the barge-in alert threshold, applied to one call",
}


def test_threshold_lines_only_where_an_alert_watches():
    alerts = {rule.alert for rule in alert_rules()}
    unnamed = []
    for uid, panel in _all_panels():
        style = panel["fieldConfig"]["defaults"].get("custom", {}).get("thresholdsStyle", {}).get("mode", "off")
        named = set(re.findall(r"\b([A-Z][A-Za-z]+)\b", panel["description"])) & alerts
        if style != "off" and (uid, panel["title"]) not in SCALE_LINES and not named:
            unnamed.append(f"{uid} / {panel['title']}")
    assert not unnamed, f"panels drawing alert lines that name no alert watching them: {unnamed}"


def test_cost_per_call_minute_panels_read_the_alert_window():
    (rule,) = [r for r in alert_rules() if r.alert == "HighCostPerCallMinute"]
    alert_series = metric_names(rule.expr)
    checked = 0
    for uid, panel in _all_panels():
        if "call-minute" in panel["title"]:
            for expr in _exprs(panel):
                assert metric_names(expr) == alert_series, (uid, panel["title"], expr)
            checked += 1
    assert checked >= 2


def test_overview_top_row_is_where_a_page_starts():
    board = BOARDS["voice-system-overview"]
    first_row = []
    for panel in board["panels"][1:]:
        if panel["type"] == "row":
            break
        first_row.append(panel["title"])
    assert board["panels"][0]["type"] == "row"
    assert first_row == [
        "Firing alerts",
        "Turn response p95",
        "Call failure ratio",
        "Mean call score",
        "Turn latency SLO burn",
    ]
    firing = panel_by_title(board, "Firing alerts")
    assert 'alertname!="Watchdog"' in firing["targets"][0]["expr"]


def test_call_detail_verdict_reads_the_last_value_in_the_range():
    """Per-call series are removed after the grace period; an instant query at "now" would find an ended call
    empty, so every instant query of Call Detail reads the last value over the dashboard's range."""
    board = BOARDS["voice-call-detail"]
    instant = [(p["title"], t["expr"]) for p in queried_panels(board) for t in p["targets"] if t.get("instant")]
    assert len(instant) >= 8
    for title, expr in instant:
        for name in metric_names(expr):
            assert re.search(rf"last_over_time\({name}\{{[^}}]*\}}\[\$__range\]\)", expr), (title, expr)


def test_drill_down_tables_read_ended_calls_from_the_final_records():
    """Per-call series go a couple of minutes after a call ends: over the range, the tables read the scorer's final
    records (the index of the worst and costliest calls), never every call's series, which would load every call of
    the range (test_drilldown_scale.py measures it); live calls are read at the query's instant."""
    final = {drilldown.FINAL_SCORE, drilldown.FINAL_COST}
    tables = 0
    for uid, panel in _all_panels():
        if panel["type"] == "table" and any("call_id" in link["url"] for link in data_links(panel)):
            tables += 1
            for expr in _exprs(panel):
                ranged = set(re.findall(r"last_over_time\((\w+)\{[^}]*\}\[\$__range\]\)", expr))
                assert ranged and ranged <= final, (uid, panel["title"], expr)
                assert "[$__range]" not in re.sub(r"last_over_time\(\w+\{[^}]*\}\[\$__range\]\)", "", expr), expr
    assert tables >= 3


def test_data_links_land_on_dashboards_that_have_the_variables_they_set():
    count = 0
    for uid, panel in _all_panels():
        for link in data_links(panel):
            if "/d/" not in link["url"] or link["url"] == links.runbook():
                continue
            target, _, values = parse_url(link["url"].replace("${__url_time_range}", ""))
            assert target in BOARDS, (uid, panel["title"], link["url"])
            defined = {v["name"] for v in BOARDS[target]["templating"]["list"]}
            assert set(values) <= defined, (uid, panel["title"], link["url"])
            assert "${__url_time_range}" in link["url"], (uid, panel["title"])
            count += 1
    assert count >= 10


def test_path_overview_to_provider_to_worst_calls_to_call_detail():
    overview = BOARDS["voice-system-overview"]
    to_provider = [
        link
        for p in queried_panels(overview)
        for link in data_links(p)
        if "/d/voice-provider-performance" in link["url"]
    ]
    assert to_provider
    worst = panel_by_title(BOARDS["voice-provider-performance"], "Worst calls in range")
    assert any("/d/voice-call-detail" in link["url"] for link in data_links(worst))
    detail = BOARDS["voice-call-detail"]
    assert panel_by_title(detail, "Main penalty")
    assert any("/d/voice-provider-performance" in link["url"] for p in queried_panels(detail) for link in data_links(p))


def test_every_dashboard_links_the_runbook():
    for uid, board in BOARDS.items():
        if uid == runbook.UID:
            continue
        urls = [link.get("url", "") for link in board["links"]]
        assert links.runbook() in urls, uid
