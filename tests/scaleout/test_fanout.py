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
from tests.harness import post_events, query, start_exporter, start_prometheus, wait_for
from tests.rules.rule_files import load_rules, rule_file_paths
from tests.scaleout.topology import SCRAPE_INTERVAL, replica_config, start_victoria_metrics

pytestmark = pytest.mark.binaries

EXPORTERS = 3
CALLS_PER_EXPORTER = 12
LIVE_CALLS_PER_EXPORTER = 2
SCRAPED_SECONDS = 15
# Prometheus extrapolates each rate to its window's edges from where that series' samples fall, and the two
# setups' scrapes and rule evaluations are not aligned to the millisecond.
RELATIVE_TOLERANCE = 0.05


def calls(seed: int) -> list[dict]:
    return Simulator("http://unused", seed=seed).generate(CALLS_PER_EXPORTER)


def live_calls(exporter_index: int, played: list[dict]) -> list[dict]:
    """Calls left open (so per-call series exist), labelled like calls this exporter has already seen."""
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
            events += live_calls(seed, events)
            send(exporter.url, events)
            send(single.url, events)
        time.sleep(SCRAPED_SECONDS)
        yield result


def recording_rules() -> list[str]:
    return sorted({rule.record for rule in load_rules() if rule.record})


def by_labels(result: list) -> dict[tuple, float]:
    return {tuple(sorted(s["metric"].items())): float(s["value"][1]) for s in result}


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-9) or (math.isnan(a) and math.isnan(b))


def test_fleet_recording_rules_in_victoria_metrics_are_the_same_for_three_exporters_as_for_one(setups):
    at = time.time() - 3 * SCRAPE_INTERVAL
    compared, differences, empty = 0, [], []
    for record in recording_rules():
        single = by_labels(query(setups["single"][1].url, record, at=at))
        fanout = by_labels(query(setups["fanout"][1].url, record, at=at))
        if not single and not fanout:
            empty.append(record)
            continue
        compared += 1
        if single.keys() != fanout.keys():
            differences.append(f"{record}: series {sorted(single)} != {sorted(fanout)}")
            continue
        for labels, value in single.items():
            if not close(value, fanout[labels]):
                differences.append(f"{record}{dict(labels)}: one exporter {value:.6g}, three {fanout[labels]:.6g}")
    print(f"\nfan-out: {compared} recording rules compared, {len(empty)} empty in both: {empty}")
    assert not differences, "\n".join(differences)
    assert compared >= len(recording_rules()) // 2, f"too few rules had data; empty: {empty}"


def test_no_call_id_is_on_two_instances(setups):
    vm = setups["fanout"][1].url
    per_call = '{__name__=~"ai_agent_.+", call_id!=""}'
    calls_seen = query(vm, f"count(count by (call_id) ({per_call}))")
    assert calls_seen and float(calls_seen[0]["value"][1]) >= EXPORTERS * LIVE_CALLS_PER_EXPORTER
    instances = query(vm, f"count(count by (instance) ({per_call}))")
    assert float(instances[0]["value"][1]) == EXPORTERS
    assert query(vm, f"count by (call_id) (count by (call_id, instance) ({per_call})) > 1") == []
