"""Lint of the generated dashboards: uids, datasources, variables, PromQL habits and metric names."""

import re
from pathlib import Path

import pytest
import yaml

from grafana.builder import build_all, promql
from tests.dashboards.dashboard_promql import counters, known_names
from tests.promql_names import metric_names, recorded_names
from tests.rules.rule_files import DASHBOARD_UIDS

ROOT = Path(__file__).resolve().parents[2]
BOARDS = build_all()
# The dashboards alerts link to, and the Runbook their runbook links open.
EXPECTED_UIDS = {*DASHBOARD_UIDS, "voice-runbook"}
CURRENT_PANEL_TYPES = {
    "row",
    "timeseries",
    "stat",
    "table",
    "heatmap",
    "state-timeline",
    "piechart",
    "bargauge",
    "gauge",
    "histogram",
    "text",
    "status-history",
    "barchart",
}
GRAFANA_VARIABLES = {
    "__rate_interval",
    "__interval",
    "__range",
    "__all",
    "__data",
    "__field",
    "__url_time_range",
    "__value",
}
VARIABLE = re.compile(r"\$\{?([A-Za-z_]\w*)")


def _panels(board):
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def _targets():
    for uid, board in BOARDS.items():
        for panel in _panels(board):
            for target in panel.get("targets", []):
                yield uid, panel, target


def _provisioned_uids(kind: str) -> set[str]:
    uids = set()
    for path in (ROOT / "grafana" / "provisioning" / "datasources").glob("*.yml"):
        for ds in yaml.safe_load(path.read_text())["datasources"]:
            if ds["type"] == kind:
                uids.add(ds["uid"])
    return uids


def test_every_dashboard_is_there_with_a_unique_uid():
    uids = [board["uid"] for board in BOARDS.values()]
    assert len(uids) == len(set(uids))
    assert set(uids) == EXPECTED_UIDS


def test_panel_ids_are_unique_within_a_dashboard():
    for uid, board in BOARDS.items():
        ids = [panel["id"] for panel in _panels(board)]
        assert len(ids) == len(set(ids)), uid


def _variables(board, kind: str = "query"):
    return [v for v in board.get("templating", {}).get("list", []) if v["type"] == kind]


def test_every_query_reads_the_datasource_variable_whose_default_is_provisioned():
    prometheus = _provisioned_uids("prometheus")
    assert prometheus == {"prometheus"}
    assert _provisioned_uids("alertmanager") == {"alertmanager"}
    for uid, board in BOARDS.items():
        (variable,) = _variables(board, "datasource")
        assert variable["name"] == "datasource" and variable["query"] == "prometheus", uid
        assert variable["current"]["value"] in prometheus, uid
        for v in _variables(board):
            assert v["datasource"]["uid"] == "${datasource}", (uid, v["name"])
        for annotation in board["annotations"]["list"]:
            assert annotation["datasource"]["uid"] == "${datasource}", uid
    for uid, panel, target in _targets():
        assert panel["datasource"]["uid"] == "${datasource}", (uid, panel["title"])
        assert target["datasource"]["uid"] == "${datasource}", (uid, panel["title"])


def test_every_variable_used_is_defined():
    for uid, board in BOARDS.items():
        defined = {v["name"] for v in board.get("templating", {}).get("list", [])}
        used = set()
        for panel in _panels(board):
            texts = [t["expr"] for t in panel.get("targets", [])] + [
                panel.get("title", ""),
                panel.get("description", ""),
            ]
            for link in panel.get("fieldConfig", {}).get("defaults", {}).get("links", []):
                texts.append(link["url"])
            for text in texts:
                used.update(VARIABLE.findall(text))
        undefined = used - defined - GRAFANA_VARIABLES
        assert not undefined, f"{uid} uses undefined variables {undefined}"


def test_every_panel_has_title_description_and_unit():
    for uid, board in BOARDS.items():
        for panel in _panels(board):
            if panel["type"] == "row":
                assert panel["title"]
                continue
            assert panel.get("title"), uid
            assert panel.get("description"), (uid, panel["title"])
            if panel["type"] == "text":
                assert panel["options"]["content"].strip(), (uid, panel["title"])
                continue
            assert panel["fieldConfig"]["defaults"].get("unit"), (uid, panel["title"])
            assert panel.get("targets"), (uid, panel["title"])


def test_only_current_panel_types():
    for uid, board in BOARDS.items():
        for panel in _panels(board):
            assert panel["type"] in CURRENT_PANEL_TYPES, (uid, panel["title"], panel["type"])


def test_counters_are_always_inside_rate_or_increase():
    for uid, panel, target in _targets():
        for counter in counters():
            for match in re.finditer(rf"\b{counter}\b", target["expr"]):
                before = target["expr"][: match.start()]
                assert re.search(r"\b(?:rate|irate|increase)\(\s*$", before), (
                    f"{uid} / {panel['title']}: {counter} outside rate/increase in {target['expr']!r}"
                )


def test_rate_windows_use_rate_interval():
    """Rates over $__rate_interval; only increase, last_over_time (a call's last value) and avg_over_time (a recorded
    mean averaged over the range) span the whole range."""
    for uid, panel, target in _targets():
        for fn, window in re.findall(r"\b(rate|irate|increase|\w+_over_time)\([^\[]*\[([^\]]*)\]", target["expr"]):
            allowed = {"$__rate_interval"} | (
                {"$__range"} if fn in ("increase", "last_over_time", "avg_over_time") else set()
            )
            assert window in allowed, f"{uid} / {panel['title']}: {fn}[{window}] in {target['expr']!r}"


def test_every_metric_is_catalogued_or_recorded():
    known = known_names()
    for uid, panel, target in _targets():
        unknown = metric_names(target["expr"]) - known
        assert not unknown, f"{uid} / {panel['title']}: unknown metrics {unknown} in {target['expr']!r}"
    for board in BOARDS.values():
        for variable in _variables(board):
            match = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", variable["query"])
            assert match, variable["query"]
            assert match.group(1) in known, variable["query"]


def test_recording_rules_the_dashboards_use_exist():
    missing = promql.RECORDED - recorded_names()
    assert not missing, f"recording rules used by dashboards but not in prometheus/rules/: {sorted(missing)}"


@pytest.mark.parametrize(
    "expr,names",
    [
        ('sum by (le) (rate(ai_agent_turns_total{provider=~"$provider"}[$__rate_interval]))', {"ai_agent_turns_total"}),
        ('label_replace(a_b == 1, "band", "Poor", "", "") or x:y:z', {"a_b", "x:y:z"}),
        ("histogram_quantile(0.95, sum by (le) (rate(m_bucket[5m]))) > bool 2", {"m_bucket"}),
        (
            'max_over_time(up{job="${job}"}[$__range]) == 1 and on (instance) rate(n_total[$__rate_interval]) * $k',
            {"up", "n_total"},
        ),
    ],
)
def test_metric_name_reader(expr, names):
    assert metric_names(expr) == names


def test_a_panel_that_cannot_filter_by_provider_says_it_shows_all_providers():
    """System Overview is left out: its panels describe the stack itself, which has no provider."""
    for uid, board in BOARDS.items():
        variables = {v["name"] for v in board.get("templating", {}).get("list", [])}
        if "provider" not in variables or uid == "voice-system-overview":
            continue
        for panel in board["panels"]:
            exprs = " ".join(target.get("expr", "") for target in panel.get("targets", []))
            if exprs and "$provider" not in exprs:
                assert "all providers" in panel.get("description", ""), (uid, panel["title"])


def test_the_drill_down_tables_list_ten_calls():
    tables = {
        ("voice-provider-performance", "Worst calls in range"): "bottomk(10, ",
        ("voice-call-quality", "Worst calls in range"): "bottomk(10, ",
        ("voice-cost-tracking", "Costliest calls in range"): "topk(10, ",
    }
    for (uid, title), ranking in tables.items():
        (panel,) = [p for p in BOARDS[uid]["panels"] if p.get("title") == title]
        assert panel["targets"][0]["expr"].startswith(ranking), (uid, title)


@pytest.mark.parametrize(
    ("uid", "title"),
    [
        ("voice-system-overview", "Events rejected"),
        ("voice-provider-performance", "Codec alignment"),
        ("voice-audio-quality", "Codec alignment"),
    ],
)
def test_panels_that_add_a_zero_show_zero_before_the_first_event(uid, title):
    (panel,) = [p for p in BOARDS[uid]["panels"] if p.get("title") == title]
    assert re.search(r"\nor\n0 \* sum by \(\w+\) \(rate\(", panel["targets"][0]["expr"]), panel["targets"][0]["expr"]
