"""Every fleet metric holds a bounded number of series, whatever the label values: beyond its budget, new
label combinations are folded into one series labelled ``other`` and counted; nothing is lost from the sums."""

import random

from tests.exporter.clocked_exporter import Clock
from tests.exporter.exposition_samples import FLEET, series_by_metric
from voice_monitoring.exporter.core import Exporter, Limits
from voice_monitoring.exporter.labels import OTHER


def hostile_mix(clock: Clock, events: int, seed: int = 7) -> list[dict]:
    """Every event picks each free-text label among 100 values: no label reaches its limit of 100 values, but
    their combinations run to millions."""
    rng = random.Random(seed)

    def pick(prefix):
        return f"{prefix}-{rng.randrange(100)}"

    out = []
    for i in range(events):
        labels = {"tenant": pick("t"), "provider": pick("p"), "pipeline": pick("l")}
        kind = i % 5
        if kind == 0:
            out.append({"type": "call.started", "ts": clock.now, "call_id": f"c-{i}", **labels})
        elif kind == 1:
            out.append({"type": "cost", "ts": clock.now, **labels, "attrs": {"service": "llm", "usd": 0.5}})
        elif kind == 2:
            attrs = {"latency_seconds": 0.5}
            out.append({"type": "turn", "ts": clock.now, "call_id": f"c-{i - 2}", **labels, "attrs": attrs})
        elif kind == 3:
            attrs = {"component": pick("comp"), "kind": pick("kind"), "service": "stt"}
            out.append({"type": "error", "ts": clock.now, **labels, "attrs": attrs})
        else:
            attrs = {"worker": pick("w"), "memory_ratio": 0.5}
            out.append({"type": "health", "ts": clock.now, "attrs": attrs})
    return out


def test_a_hostile_mix_of_label_values_stays_within_every_metrics_series_budget():
    clock = Clock()
    exporter = Exporter(Limits(max_live_calls=100_000), clock=clock)
    budget = exporter.limits.series_budget
    events = hostile_mix(clock, 40_000)
    for start in range(0, len(events), 1000):
        accepted, _, rejected = exporter.ingest(events[start : start + 1000])
        assert rejected == []
    series = series_by_metric(exporter)
    assert max(len(s) for s in series.values()) == budget + 1
    for name, rows in series.items():
        assert len(rows) <= budget + 1, name
    started = series["ai_agent_calls_started_total"]
    assert sum(started.values()) == 8000  # folded, not lost
    assert started[tuple(sorted((label, OTHER) for label in FLEET["ai_agent_calls_started_total"].labels))] > 0
    assert sum(series["ai_agent_cost_usd_total"].values()) == 8000 * 0.5
    overflow = series["ai_agent_exporter_series_overflow_total"]
    assert overflow[(("metric", "ai_agent_cost_usd_total"),)] > 0


def test_a_reported_gauge_folded_into_other_goes_away_when_reports_stop():
    clock = Clock()
    exporter = Exporter(Limits(series_budget=2, report_ttl_seconds=300), clock=clock)
    health = [{"type": "health", "ts": clock.now, "attrs": {"worker": f"w{i}", "cpu_ratio": 0.5}} for i in range(5)]
    exporter.ingest(health)
    assert set(series_by_metric(exporter)["ai_agent_worker_cpu_ratio"]) == {
        (("worker", "w0"),),
        (("worker", "w1"),),
        (("worker", OTHER),),
    }
    clock.now += 301
    exporter.sweep()
    assert "ai_agent_worker_cpu_ratio" not in series_by_metric(exporter)


def test_a_call_in_progress_folded_into_other_leaves_the_same_series():
    clock = Clock()
    exporter = Exporter(Limits(series_budget=1), clock=clock)
    calls = [{"type": "call.started", "ts": clock.now, "call_id": f"c-{i}", "tenant": f"t{i}"} for i in range(3)]
    exporter.ingest(calls)
    end = {"duration_seconds": 1, "reason": "x"}
    ends = [{"type": "call.ended", "ts": clock.now, "call_id": f"c-{i}", "attrs": end} for i in range(3)]
    exporter.ingest(ends)
    assert set(series_by_metric(exporter)["ai_agent_active_calls"].values()) == {0.0}
