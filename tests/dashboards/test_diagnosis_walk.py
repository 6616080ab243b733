"""The two-minute diagnosis, walked: for each fault scenario of the simulator, start from the alert Prometheus
fires, open its dashboard_url, run the panel's queries, follow the data links to the table of the range's calls
and from the faulty call's row to Call Detail, where the main penalty names the fault.

One stack (exporter, Prometheus with the generated rules, scorer) serves every scenario in turn. Scenarios stay
independent: the exporter forgets a call 5 s after its last event, the scorer 3 s after it disappears and publishes
its final record for 3 s; each scenario waits until no call, score or final record is left and reads the dashboards
over its own time range only.

The test's copy of the rules differs in time only: no ``for`` durations, and 30-minute windows shortened to one
minute, so an alert fires within seconds of its condition on traffic played ten times faster than real time.
Queries, labels, annotations (the dashboard_url followed here) and dashboards are the generated ones.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml

from grafana.builder import build_all
from tests.dashboards.board_walk import (
    data_links,
    drill_down_table,
    fill_link,
    joined_rows,
    panel_by_id,
    panel_by_title,
    parse_url,
    queried_panels,
    substitute,
    variables,
)
from tests.harness import prometheus_config, query, start_exporter, start_prometheus, start_scorer, wait_for
from voice_monitoring.exporter.simulator import Simulator
from voice_monitoring.exporter.simulator.profiles import SCENARIOS as SIMULATED

pytestmark = pytest.mark.binaries

ROOT = Path(__file__).resolve().parents[2]
BOARDS = build_all()
SPEED = 10.0
TRAFFIC_SECONDS = 120  # at most: each scenario stops once its alert fires and a faulty call is scored
CALLS = 10
RATE_INTERVAL = "20s"
ANY_FACTOR = "any"


@dataclass(frozen=True)
class Expect:
    alert: str
    penalty: str | None  # the factor Call Detail must name; None: the fault touches no call, the walk ends at the panel


SCENARIOS = {
    "latency_spike": Expect("HighTurnResponseLatency", "turn_latency"),
    "underflow_storm": Expect("HighUnderflowRate", "underflows"),
    "provider_outage": Expect("ProviderDown", "turn_latency"),
    "codec_mismatch": Expect("ProviderCodecMismatch", "codec_alignment"),
    # A costly call is found by its cost; its main quality penalty is whatever it is, but it is named.
    "cost_spike": Expect("HighCostPerCallMinute", ANY_FACTOR),
    "circuit_breaker_open": Expect("CircuitBreakerOpen", None),
    "memory_pressure": Expect("WorkerMemoryHigh", None),
}


def test_every_simulated_fault_has_a_walk():
    assert set(SCENARIOS) == set(SIMULATED)


def _rules_firing_at_once(tmp: Path) -> list[str]:
    out = []
    for path in sorted((ROOT / "prometheus" / "rules").glob("*.yml")):
        groups = yaml.safe_load(path.read_text())
        for group in groups["groups"]:
            for rule in group["rules"]:
                rule.pop("for", None)
                rule["expr"] = str(rule["expr"]).replace("[30m]", "[1m]")
        target = tmp / path.name
        target.write_text(yaml.safe_dump(groups))
        out.append(str(target))
    return out


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("diagnosis-walk")
    rules = _rules_firing_at_once(tmp)
    with start_exporter(tmp, "--grace-seconds", "5", "--idle-seconds", "5") as exporter:
        targets = {"voice_exporter": [exporter.url.removeprefix("http://")]}
        with (
            start_prometheus(tmp, prometheus_config(targets, rules)) as prometheus,
            start_scorer(
                tmp, prometheus.url, "--interval", "1", "--call-grace-seconds", "3", "--final-record-seconds", "3"
            ) as scorer,
        ):
            targets["voice_scorer"] = [scorer.url.removeprefix("http://")]
            config_file = Path(prometheus.argv[1].removeprefix("--config.file="))
            config_file.write_text(yaml.safe_dump(prometheus_config(targets, rules)))
            requests.post(prometheus.url + "/-/reload", timeout=10).raise_for_status()
            yield exporter, prometheus


class Walker:
    """Grafana's part of the walk: variables from the URL, macros from the time range, queries run as the panels
    send them."""

    def __init__(self, prometheus_url: str, range_seconds: float):
        self.url = prometheus_url
        self.macros = {"$__rate_interval": RATE_INTERVAL, "$__interval": "1s", "$__range": f"{int(range_seconds)}s"}
        self.steps: list[str] = []

    def open(self, url: str) -> tuple[dict, dict | None, dict[str, str]]:
        uid, panel_id, values = parse_url(url)
        board = BOARDS[uid]
        chosen = {}
        for name, variable in variables(board).items():
            if variable["type"] == "query":
                chosen[name] = ".*" if values.get(name, "$__all") == "$__all" else values[name]
        assert set(values) <= set(chosen), f"{url} sets variables {uid} does not have"
        self.steps.append(f"{uid}{f' panel {panel_id}' if panel_id else ''} {values}")
        for panel in queried_panels(board):  # every panel's queries run without error
            self.run(panel, chosen)
        return board, (panel_by_id(board, panel_id) if panel_id is not None else None), chosen

    def run(self, panel: dict, chosen: dict[str, str]) -> list[list[dict]]:
        return [query(self.url, substitute(t["expr"], chosen, self.macros)) for t in panel["targets"]]


def _firing(prometheus_url: str, alertname: str) -> list[dict]:
    body = requests.get(prometheus_url + "/api/v1/alerts", timeout=10).json()
    return [a for a in body["data"]["alerts"] if a["labels"]["alertname"] == alertname and a["state"] == "firing"]


def _scored(prometheus_url: str, calls: set[str]) -> bool:
    return any(s["metric"]["call_id"] in calls for s in query(prometheus_url, "ai_agent_call_quality_score"))


def _shows(results: list[list[dict]], labels: dict[str, str]) -> bool:
    """Some series agrees with the alert on every label both carry (job and instance aside)."""
    for result in results:
        for series in result:
            shared = {k for k in series["metric"] if k in labels and k not in ("job", "instance", "__name__")}
            if all(series["metric"][k] == labels[k] for k in shared):
                return True
    return False


def _play(exporter_url: str, scenario: str) -> tuple[Simulator, threading.Thread]:
    sim = Simulator(exporter_url, seed=sorted(SCENARIOS).index(scenario) + 3, speed=SPEED)
    sim.set_fault(scenario)
    player = threading.Thread(target=sim.run, args=(TRAFFIC_SECONDS, CALLS), daemon=True)
    player.start()
    return sim, player


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_from_the_page_to_the_faulty_call(stack, scenario):
    exporter, prometheus = stack
    expect = SCENARIOS[scenario]
    wait_for(
        lambda: query(
            prometheus.url,
            "ai_agent_exporter_live_calls == 0 unless on () ai_agent_call_quality_score"
            " unless on () ai_agent_call_final_quality_score",
        ),
        30,
        interval=0.5,
        what="the calls, scores and final records of the previous scenario to expire",
    )
    time.sleep(2)  # the last scrape of the previous calls is older than this scenario's range
    started = time.time()
    sim, player = _play(exporter.url, scenario)
    try:
        alerts = wait_for(lambda: _firing(prometheus.url, expect.alert), 60, interval=1, what=f"{expect.alert}")
        if expect.penalty is not None:
            wait_for(lambda: _scored(prometheus.url, sim.affected), 60, interval=1, what="a scored faulty call")
        time.sleep(2)
    finally:
        sim.stop()
        player.join(timeout=20)
    assert not sim.errors, sim.errors[:3]
    alert = next((a for a in alerts if a["labels"].get("provider", "deepgram") == "deepgram"), alerts[0])
    walker = Walker(prometheus.url, time.time() - started + 1)

    # 1. The page: its dashboard_url opens the panel that shows the alert's signal, for the alert's labels.
    board, panel, chosen = walker.open(alert["annotations"]["dashboard_url"].split("/d/", 1)[1].join(["/d/", ""]))
    assert panel is not None, alert["annotations"]["dashboard_url"]
    signal = walker.run(panel, chosen)
    assert _shows(signal, alert["labels"]), f"{panel['title']} shows nothing for {alert['labels']}: {signal}"
    if expect.penalty is None:
        assert not sim.affected, f"{scenario} touched calls the walk does not reach"
        return

    # 2. The range's calls: on this dashboard, or one data link away.
    table = drill_down_table(board)
    if table is None:
        series = next(s for result in signal for s in result if _shows([[s]], alert["labels"]))
        (link,) = [link for link in data_links(panel) if "/d/" in link["url"]]
        board, _, chosen = walker.open(fill_link(link["url"], series["metric"]))
        table = drill_down_table(board)
    assert table is not None, walker.steps
    rows = joined_rows(walker.run(table, chosen))
    assert rows, f"{table['title']} lists no call: {walker.steps}"
    faulty = [row for row in rows if row["call_id"] in sim.affected]
    assert faulty, f"none of {sorted(r['call_id'] for r in rows)} in {table['title']} is one of {sorted(sim.affected)}"

    # 3. The faulty call's Call Detail names its main penalty.
    (link,) = data_links(table)
    detail, _, chosen = walker.open(fill_link(link["url"], {"call_id": faulty[0]["call_id"]}))
    main = walker.run(panel_by_title(detail, "Main penalty"), chosen)[0]
    assert len(main) == 1, f"Call Detail of {faulty[0]['call_id']} names no main penalty: {walker.steps}"
    factor = main[0]["metric"]["factor"]
    if expect.penalty != ANY_FACTOR:
        assert factor == expect.penalty, f"{scenario}: {faulty[0]['call_id']}'s main penalty is {factor}"
    for title in ("Quality score", "Band", "Call"):
        assert walker.run(panel_by_title(detail, title), chosen)[0], f"Call Detail / {title} is empty"
