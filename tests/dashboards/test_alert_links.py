"""Each alert's dashboard_url lands on a panel whose queries read the alert's signal, with the alert's labels set
as variables that panel filters by; the links file is what the builder generates."""

import re

import pytest
import yaml

from grafana.builder import alert_links, build_all
from tests.dashboards.board_walk import panel_by_id, parse_url, series_labels, variables
from tests.promql_names import metric_names
from tests.rules.rule_files import PROMETHEUS_DIR, alert_rules

BOARDS = build_all()
GRAFANA_URL = yaml.safe_load((PROMETHEUS_DIR / "thresholds.yml").read_text())["links"]["grafana_url"]
LABEL_TEMPLATE = re.compile(r'^\{\{ or \$labels\.(\w+) "\$__all" \}\}$')


def test_links_file_is_what_the_builder_generates():
    assert alert_links.LINKS_FILE.read_text() == alert_links.render(BOARDS), "run `make generate`"


def test_every_alert_has_a_link_and_every_link_an_alert():
    assert {rule.alert for rule in alert_rules()} == set(alert_links.PANELS)


def rule_id(rule) -> str:
    return f"{rule.alert}:{rule.labels.get('window', '')}".rstrip(":")


@pytest.mark.parametrize("rule", alert_rules(), ids=rule_id)
def test_dashboard_url_lands_on_a_panel_showing_the_alert_signal(rule):
    url = rule.annotations["dashboard_url"]
    assert url.startswith(GRAFANA_URL + "/d/"), url
    uid, panel_id, values = parse_url(url.removeprefix(GRAFANA_URL))
    board = BOARDS[uid]
    signal = metric_names(rule.expr)
    if panel_id is None:
        assert not signal, f"{rule.alert} reads {signal} but its link names no panel"
        return
    panel = panel_by_id(board, panel_id)
    exprs = [t["expr"] for t in panel["targets"]]
    read = set().union(*(metric_names(e) for e in exprs))
    assert read & signal, f"{rule.alert} reads {signal}; its panel {panel['title']!r} reads {read}"
    for name, value in values.items():
        assert name in variables(board), f"{uid} has no ${name}"
        label = LABEL_TEMPLATE.match(value)
        assert label and label.group(1) == name, f"{rule.alert}: var-{name}={value} is not the alert's {name} label"
        assert all("$" + name in e for e in exprs), f"{panel['title']!r} does not filter by ${name}"
        assert label.group(1) in _alert_labels(rule), f"{rule.alert} carries no {name} label"


def _alert_labels(rule) -> set[str]:
    """Labels an alert's result carries: its recorded series' level, or its ``by`` clauses."""
    labels = set()
    for name in metric_names(rule.expr):
        labels |= series_labels(name)
    for clause in re.findall(r"\bby\s*\(([^)]*)\)", rule.expr):
        labels |= {label.strip() for label in clause.split(",")}
    return labels


def test_the_rule_generator_refuses_an_alert_without_a_link(tmp_path):
    from prometheus import generate

    source = tmp_path / "rules.src"
    source.mkdir()
    (source / "new.yml").write_text(
        "groups:\n  - name: g\n    rules:\n      - alert: BrandNewAlert\n        expr: vector(1)\n"
        "        annotations:\n          dashboard_url: ${dashboard_url}\n"
    )
    with pytest.raises(KeyError, match="BrandNewAlert"):
        generate.render(source_dir=source)


def test_the_rule_generator_gives_each_alert_its_own_link():
    from prometheus import generate

    rendered = generate.render()["latency.yml"]
    links = alert_links.load()
    for alert in ("HighTurnResponseLatency", "SlowBargeInReaction"):
        block = rendered.split(f"- alert: {alert}\n", 1)[1].split("- alert:", 1)[0]
        assert f"dashboard_url: {GRAFANA_URL}{links[alert]}\n" in block
