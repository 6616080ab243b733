"""Last-reported gauges (``exporter/reported_gauges.py``): each series lives its TTL after its own last report."""

from __future__ import annotations

from voice_monitoring.exporter.fleet import FleetMetrics
from voice_monitoring.exporter.reported_gauges import ReportedGauges

MEMORY = "ai_agent_worker_memory_ratio"
BREAKER = "ai_agent_circuit_breaker_state"


def series(fleet: FleetMetrics, name: str) -> dict[tuple[str, ...], float]:
    """The series ``name`` exposes, by label values, read from the fleet's own rendering."""
    out = {}
    for line in fleet.render().splitlines():
        if line.startswith(name + "{"):
            labels, number = line[len(name) + 1 :].rsplit("} ", 1)
            out[tuple(part.split("=", 1)[1].strip('"') for part in labels.split(","))] = float(number)
    return out


def test_a_series_lives_its_ttl_after_its_last_report_and_not_a_moment_more():
    fleet = FleetMetrics(100)
    gauges = ReportedGauges(fleet, ttl_seconds=30)
    gauges.report(1000.0, 0.5, MEMORY, "w-1")
    gauges.expire(1030.0)
    assert series(fleet, MEMORY) == {("w-1",): 0.5}
    gauges.expire(1030.001)
    assert series(fleet, MEMORY) == {}


def test_each_series_has_its_own_ttl_and_a_new_report_refreshes_only_its_own():
    fleet = FleetMetrics(100)
    gauges = ReportedGauges(fleet, ttl_seconds=30)
    gauges.report(1000.0, 0.5, MEMORY, "w-1")
    gauges.report(1000.0, 0.6, MEMORY, "w-2")
    gauges.report(1000.0, 2, BREAKER, "stt")
    gauges.report(1020.0, 0.7, MEMORY, "w-1")
    gauges.expire(1040.0)
    assert series(fleet, MEMORY) == {("w-1",): 0.7}
    assert series(fleet, BREAKER) == {}
    gauges.expire(1050.0)
    assert series(fleet, MEMORY) == {("w-1",): 0.7}
    gauges.expire(1051.0)
    assert series(fleet, MEMORY) == {}


def test_a_series_reported_again_after_it_went_comes_back_with_the_new_value():
    fleet = FleetMetrics(100)
    gauges = ReportedGauges(fleet, ttl_seconds=10)
    gauges.report(0.0, 0.9, MEMORY, "w-1")
    gauges.expire(11.0)
    gauges.report(12.0, 0.2, MEMORY, "w-1")
    gauges.expire(21.0)
    assert series(fleet, MEMORY) == {("w-1",): 0.2}


def test_a_series_that_went_frees_its_place_in_the_metrics_budget():
    fleet = FleetMetrics(2)
    gauges = ReportedGauges(fleet, ttl_seconds=10)
    gauges.report(0.0, 0.1, MEMORY, "w-1")
    gauges.report(0.0, 0.2, MEMORY, "w-2")
    gauges.report(0.0, 0.3, MEMORY, "w-3")
    assert series(fleet, MEMORY) == {("w-1",): 0.1, ("w-2",): 0.2, ("other",): 0.3}
    gauges.expire(11.0)
    assert series(fleet, MEMORY) == {}
    gauges.report(12.0, 0.4, MEMORY, "w-3")
    assert series(fleet, MEMORY) == {("w-3",): 0.4}


def test_expiring_with_nothing_reported_changes_nothing():
    fleet = FleetMetrics(100)
    before = fleet.render()
    ReportedGauges(fleet, ttl_seconds=1).expire(1e12)
    assert fleet.render() == before
