"""The agent and its version: named on call.started (or the first event of an adopted call), inherited by the
call's later events, on the fleet metrics by agent and version, on the call's info series, folded over the limit,
and kept across an exporter restart."""

from tests.exporter.call_events import ended, started
from tests.exporter.clocked_exporter import Clock, make
from tests.exporter.exposition_samples import series_by_metric, value
from voice_monitoring.exporter import state_file


def turn(clock, call_id="c-1", latency=0.8, **extra):
    return {"type": "turn", "ts": clock.now, "call_id": call_id, "attrs": {"latency_seconds": latency}, **extra}


def test_agent_and_version_reach_the_fleet_and_the_call():
    clock = Clock()
    exporter = make(clock)
    exporter.ingest([started(clock, agent="support", agent_version="v7"), turn(clock), turn(clock, latency=1.2)])
    assert value(exporter, "ai_agent_agent_active_calls", agent="support") == 1
    assert value(exporter, "ai_agent_agent_calls_started_total", agent="support", agent_version="v7") == 1
    assert value(exporter, "ai_agent_agent_turn_response_seconds_count", agent="support") == 2
    assert value(exporter, "ai_agent_agent_turn_response_seconds_sum", agent="support") == 2.0
    info = {"call_id": "c-1", "provider": "deepgram", "tenant": "acme", "agent": "support", "agent_version": "v7"}
    assert value(exporter, "ai_agent_call_agent_info", **info) == 1

    exporter.ingest([ended(clock, reason="error", duration=90.0)])
    assert value(exporter, "ai_agent_agent_active_calls", agent="support") == 0
    ended_labels = {"agent": "support", "agent_version": "v7", "reason": "error"}
    assert value(exporter, "ai_agent_agent_calls_ended_total", **ended_labels) == 1
    assert value(exporter, "ai_agent_agent_call_seconds_total", agent="support", agent_version="v7") == 90.0
    assert value(exporter, "ai_agent_agent_cost_usd_total", agent="support", agent_version="v7") is not None


def test_a_call_that_names_no_agent_is_counted_under_unknown():
    clock = Clock()
    exporter = make(clock)
    exporter.ingest([started(clock), turn(clock)])
    assert value(exporter, "ai_agent_agent_calls_started_total", agent="unknown", agent_version="unknown") == 1
    assert value(exporter, "ai_agent_agent_turn_response_seconds_count", agent="unknown") == 1


def test_an_adopted_call_moves_to_the_agent_of_its_call_started():
    clock = Clock()
    exporter = make(clock)
    exporter.ingest([turn(clock, agent="support", agent_version="v1")])
    assert value(exporter, "ai_agent_agent_active_calls", agent="support") == 1
    exporter.ingest([started(clock, agent="sales", agent_version="v2")])
    assert value(exporter, "ai_agent_agent_active_calls", agent="support") == 0
    assert value(exporter, "ai_agent_agent_active_calls", agent="sales") == 1


def test_versions_over_the_label_limit_fold_into_other_and_are_counted():
    clock = Clock()
    exporter = make(clock, label_values=3)
    exporter.ingest([started(clock, f"c-{i}", agent="support", agent_version=f"v{i}") for i in range(5)])
    assert value(exporter, "ai_agent_agent_calls_started_total", agent="support", agent_version="other") == 2
    assert value(exporter, "ai_agent_exporter_label_values_folded_total", label="agent_version") == 2


def test_a_restarted_exporter_keeps_the_calls_agent(tmp_path):
    clock = Clock()
    exporter = make(clock)
    exporter.ingest([started(clock, agent="support", agent_version="v7")])
    state_file.save(exporter, tmp_path / "state.db")
    restarted = make(clock)
    state_file.restore(restarted, tmp_path / "state.db")
    restarted.ingest([turn(clock), ended(clock)])
    assert value(restarted, "ai_agent_agent_turn_response_seconds_count", agent="support") == 1
    labels = {"agent": "support", "agent_version": "v7", "reason": "user_hangup"}
    assert value(restarted, "ai_agent_agent_calls_ended_total", **labels) == 1


def test_the_agent_dimension_stays_within_the_ceiling_the_metrics_reference_states():
    """Calls of 40 agents in 40 versions, ending for every reason, under small limits: no agent metric exposes more
    series than scripts/generate_reference.py writes into docs/metrics.md for those limits."""
    from scripts.generate_reference import agent_dimension_ceiling

    clock = Clock()
    exporter = make(clock, label_values=4, series_budget=10)
    reasons = ("caller hung up", "agent ended", "transfer", "timeout", "error", "weird")
    for i in range(40):
        call = f"c-{i}"
        exporter.ingest([started(clock, call, agent=f"a{i}", agent_version=f"v{i % 7}"), turn(clock, call)])
        exporter.ingest([ended(clock, call, reason=reasons[i % len(reasons)])])
    rows, _, _ = agent_dimension_ceiling(4, 10)
    exposed = series_by_metric(exporter)
    for name, series, _ in rows:
        assert 0 < len(exposed[name]) <= series, name
    assert value(exporter, "ai_agent_exporter_label_values_folded_total", label="agent") == 36
    assert value(exporter, "ai_agent_exporter_series_overflow_total", metric="ai_agent_agent_calls_ended_total") > 0
