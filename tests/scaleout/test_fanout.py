"""Many exporters: the same simulated calls spread over three exporters give the same fleet recording-rule
results in VictoriaMetrics as one exporter given all of them, and no call_id appears on two instances.

Each setup has its own Prometheus writing into its own VictoriaMetrics. The calls are played twice: the first
time before Prometheus starts, so every series exists before the first scrape (a series born inside a rate
window would lose its first increment, differently in the two setups), and again (same calls, new ids) while it
scrapes; each simulator's calls go to one exporter, as calls stay on their engine host.
"""

from __future__ import annotations

import contextlib
import math
import time

import pytest

from exporter.simulator.traffic import Simulator
from grafana.builder import build_all
from tests.dashboards.board_walk import queried_panels, substitute
from tests.dashboards.panel_coverage import MACROS, RANGE_VARIABLES
from tests.harness import post_events, query, start_exporter, start_prometheus, wait_for
from tests.rules.rule_files import load_rules, rule_file_paths
from tests.scaleout.topology import SCRAPE_INTERVAL, replica_config, start_victoria_metrics

pytestmark = pytest.mark.binaries

EXPORTERS = 3
CALLS_PER_EXPORTER = 12
LIVE_CALLS_PER_EXPORTER = 2
SCRAPED_SECONDS = 30
# Prometheus extrapolates each rate to its window's edges from where that series' samples fall, and the two
# setups' scrapes are not aligned: a few percent on rules over many series, and up to about 20% on one over a
# handful of series with few increments (cost for one tenant) when the scrapes jitter on a loaded machine. What
# the comparison is for shows well outside that: a rule that does not sum across instances returns other series
# (instance kept) or a third to three times the value (one instance's share, avg or max instead of sum).
TOLERANCE = 0.25
# Prometheus and VictoriaMetrics reading the same samples: any difference is reported.
ENGINE_TOLERANCE = 0.001


def calls(seed: int) -> list[dict]:
    return Simulator("http://unused", seed=seed).generate(CALLS_PER_EXPORTER)


def live_calls(exporter_index: int, played: list[dict]) -> list[dict]:
    """Calls left open for the whole test (so per-call series exist and calls in progress stay level), labelled
    like calls this exporter sees."""
    started = [e for e in played if e["type"] == "call.started"][:LIVE_CALLS_PER_EXPORTER]
    return [
        {**event, "id": f"live-{exporter_index}-{i}", "call_id": f"live-{exporter_index}-{i}", "ts": time.time()}
        for i, event in enumerate(started)
    ]


def send(url: str, events: list[dict]) -> None:
    for start in range(0, len(events), 500):
        response = post_events(url, events[start : start + 500])
        assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def setups(tmp_path_factory):
    """{"single": (prometheus, vm), "fanout": (prometheus, vm)} after the same traffic in both."""
    tmp = tmp_path_factory.mktemp("fanout")
    rules = [str(p) for p in rule_file_paths()]
    with contextlib.ExitStack() as stack:
        single = stack.enter_context(start_exporter(tmp))
        spread = [stack.enter_context(start_exporter(tmp)) for _ in range(EXPORTERS)]
        for seed, exporter in enumerate(spread, start=1):
            events = calls(seed)
            events += live_calls(seed, events)
            send(exporter.url, events)
            send(single.url, events)
        result = {}
        groups = {"single": [single], "fanout": spread}
        for name, exporters in groups.items():
            vm = stack.enter_context(start_victoria_metrics(tmp))
            targets = {"voice_exporter": [e.url.removeprefix("http://") for e in exporters]}
            config = replica_config("a", targets, f"{vm.url}/api/v1/write", rules)
            result[name] = (stack.enter_context(start_prometheus(tmp, config)), vm)
        for name, (prometheus, _) in result.items():
            scraped = f"count(up == 1) == {len(groups[name])}"
            wait_for(lambda p=prometheus, q=scraped: query(p.url, q), 30, what=f"{name}: every target scraped")
        time.sleep(3 * SCRAPE_INTERVAL)
        for seed, exporter in enumerate(spread, start=1):
            events = calls(seed)
            send(exporter.url, events)
            send(single.url, events)
        time.sleep(SCRAPED_SECONDS)
        yield result


def fleet_recording_rules() -> list:
    return sorted((rule for rule in load_rules() if rule.record), key=lambda rule: rule.record)


def by_labels(result: list) -> dict[tuple, float]:
    return {tuple(sorted(s["metric"].items())): float(s["value"][1]) for s in result}


def close(a: float, b: float, tolerance: float) -> bool:
    return math.isclose(a, b, rel_tol=tolerance, abs_tol=1e-9) or (math.isnan(a) and math.isnan(b))


def differences(single_url: str, fanout_url: str, expr: str, at: float, tolerance: float) -> list[str]:
    single = by_labels(query(single_url, expr, at=at))
    fanout = by_labels(query(fanout_url, expr, at=at))
    if single.keys() != fanout.keys():
        return [f"{expr}: series {sorted(single)} != {sorted(fanout)}"]
    return [
        f"{expr} {dict(labels)}: one exporter {value:.6g}, three {fanout[labels]:.6g}"
        for labels, value in single.items()
        if not close(value, fanout[labels], tolerance)
    ]


def test_fleet_recording_rules_in_victoria_metrics_are_the_same_for_three_exporters_as_for_one(setups):
    at = time.time() - 3 * SCRAPE_INTERVAL
    single, fanout = setups["single"][1].url, setups["fanout"][1].url
    found, empty = [], []
    for rule in fleet_recording_rules():
        if not query(single, rule.record, at=at) and not query(fanout, rule.record, at=at):
            empty.append(rule.record)
            continue
        found += differences(single, fanout, rule.record, at, TOLERANCE)
    compared = len(fleet_recording_rules()) - len(empty)
    print(f"\nfan-out: {compared} recording rules compared, {len(empty)} empty in both: {empty}")
    assert not found, "\n".join(found)
    assert compared >= len(fleet_recording_rules()) * 3 // 4, f"too few rules had data; empty: {empty}"


def test_no_call_id_is_on_two_instances(setups):
    vm = setups["fanout"][1].url
    per_call = '{__name__=~"ai_agent_.+", call_id!=""}'
    calls_seen = query(vm, f"count(count by (call_id) ({per_call}))")
    assert calls_seen and float(calls_seen[0]["value"][1]) >= EXPORTERS * LIVE_CALLS_PER_EXPORTER
    instances = query(vm, f"count(count by (instance) ({per_call}))")
    assert float(instances[0]["value"][1]) == EXPORTERS
    assert query(vm, f"count by (call_id) (count by (call_id, instance) ({per_call})) > 1") == []


def compare(url_a: str, url_b: str, expr: str, at: float, tolerance: float = ENGINE_TOLERANCE) -> str | None:
    """How two query endpoints' answers to ``expr`` differ (None if they agree); external labels set aside."""

    def answer(url):
        return {
            tuple(sorted((k, v) for k, v in labels if k != "cluster")): value
            for labels, value in by_labels(query(url, expr, at=at)).items()
        }

    a, b = answer(url_a), answer(url_b)
    if a.keys() != b.keys():
        only_a, only_b = sorted(a.keys() - b.keys())[:3], sorted(b.keys() - a.keys())[:3]
        return f"series differ: only in the first {only_a}, only in the second {only_b}"
    worst = max(
        (abs(a[k] - b[k]) / max(abs(a[k]), abs(b[k]), 1e-12) for k in a if not close(a[k], b[k], tolerance)),
        default=None,
    )
    return None if worst is None else f"values differ by up to {worst:.1%}"


def dashboard_panels():
    for uid, board in build_all().items():
        for panel in queried_panels(board):
            yield uid, panel


def dashboard_queries(call_id: str) -> list[tuple[str, str]]:
    variables = {**RANGE_VARIABLES, "call_id": call_id}
    return [
        (f"{uid} / {panel['title']}", substitute(target["expr"], variables, MACROS))
        for uid, panel in dashboard_panels()
        for target in panel["targets"]
    ]


def queries(call_id: str) -> list[tuple[str, str]]:
    return [(f"rule {rule.record or rule.alert}", rule.expr) for rule in load_rules()] + dashboard_queries(call_id)


# Dashboard panels that show each target or each call where it lives, by design: one exporter and three differ in
# their instance labels, and that is the point of the panel.
PER_INSTANCE_PANELS = {
    ("voice-system-overview", "Service health"): "up of every scrape target",
    ("voice-system-overview", "Events rejected"): "rejections per exporter, to find the one a bad client talks to",
}
# Panels on a last-reported gauge: each exporter keeps the last value its own calls reported, and no aggregation
# of three last values is the one last value a single exporter keeps.
LAST_VALUE_PANELS = {
    ("voice-audio-quality", "DC offset by stage"): "ai_agent_audio_dc_offset is a last-reported gauge per exporter",
}


def test_dashboard_queries_read_the_same_from_three_exporters_as_from_one(setups):
    """On Prometheus: VictoriaMetrics counts the first value of a series younger than the window differently (the
    next test), and every series here is younger than the dashboards' windows."""
    single, fanout = setups["single"][0].url, setups["fanout"][0].url
    at = time.time() - 3 * SCRAPE_INTERVAL
    differing = {}
    for uid, panel in dashboard_panels():
        key = (uid, panel["title"])
        if key in PER_INSTANCE_PANELS or key in LAST_VALUE_PANELS:
            continue
        for target in panel["targets"]:
            expr = substitute(target["expr"], {**RANGE_VARIABLES, "call_id": "live-1-0"}, MACROS)
            if uid == "voice-call-detail":  # one call, on whichever exporter holds it
                expr = f"sum without (instance) ({expr})"
            difference = compare(single, fanout, expr, at, TOLERANCE)
            if difference:
                differing[f"{uid} / {panel['title']}"] = f"{difference}\n      {expr}"
    print(f"\n{len(differing)} dashboard queries differ between one exporter and three:")
    for name, difference in differing.items():
        print(f"  {name}: {difference}")
    assert not differing


def test_per_instance_and_last_value_panels_exist():
    titles = {(uid, panel["title"]) for uid, panel in dashboard_panels()}
    assert set(PER_INSTANCE_PANELS) | set(LAST_VALUE_PANELS) <= titles


def test_victoria_metrics_answers_every_rule_and_dashboard_query_prometheus_does(setups):
    """Same data, two engines: every query runs on both, and those without a range window (gauges, recorded series)
    agree exactly. Over a window the answers may differ where MetricsQL computes differently, above all on series
    younger than the window, as every series here is (docs/Scaling.md lists how); the differences are printed."""
    prometheus, vm = setups["fanout"]
    at = time.time() - 3 * SCRAPE_INTERVAL
    checked = queries("live-1-0")
    differing = {name: (expr, compare(prometheus.url, vm.url, expr, at)) for name, expr in checked}
    differing = {name: found for name, found in differing.items() if found[1]}
    print(f"\n{len(differing)} of {len(checked)} queries differ between Prometheus and VictoriaMetrics:")
    for name, (expr, difference) in differing.items():
        print(f"  {name}: {difference}\n      {expr}")
    instant = [name for name, (expr, _) in differing.items() if "[" not in expr]
    assert not instant, f"queries without a range window differ: {instant}"
    assert len(checked) - len(differing) > len(checked) // 2
