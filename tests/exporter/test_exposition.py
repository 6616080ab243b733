"""The hand-written exposition is what Prometheus and promtool expect."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.harness import promtool_lint
from voice_monitoring.exporter.fleet import FleetMetrics

pytestmark = pytest.mark.binaries


def test_histogram_buckets_are_cumulative_with_le_inclusive_upper_bounds():
    fleet = FleetMetrics()
    h = fleet.child("ai_agent_turn_response_seconds", "cascade", "deepgram")
    for v in (0.05, 0.8, 0.81, 100.0):
        h.observe(v)
    samples = {
        (s.name, s.labels.get("le")): s.value
        for f in text_string_to_metric_families(fleet.render())
        if f.name == "ai_agent_turn_response_seconds"
        for s in f.samples
    }
    assert samples[("ai_agent_turn_response_seconds_bucket", "0.1")] == 1
    assert samples[("ai_agent_turn_response_seconds_bucket", "0.8")] == 2
    assert samples[("ai_agent_turn_response_seconds_bucket", "1.0")] == 3
    assert samples[("ai_agent_turn_response_seconds_bucket", "8.0")] == 3
    assert samples[("ai_agent_turn_response_seconds_bucket", "+Inf")] == 4
    assert samples[("ai_agent_turn_response_seconds_count", None)] == 4
    assert abs(samples[("ai_agent_turn_response_seconds_sum", None)] - 101.66) < 1e-9


def test_promtool_finds_nothing_to_lint_in_a_busy_exposition():
    fleet = FleetMetrics()
    fleet.child("ai_agent_calls_started_total", 'a"b', "p\\q", "new\nline").inc()
    fleet.child("ai_agent_active_calls", "t", "p").dec()
    fleet.child("ai_agent_component_latency_seconds", "stt", "☎").observe(0.2)
    assert promtool_lint(fleet.render()) == ""
