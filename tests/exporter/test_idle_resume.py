"""A call removed for going quiet and then heard from again is the same call: counted started once, not adopted."""

from tests.exporter.call_events import ended, started
from tests.exporter.clocked_exporter import Clock, make
from tests.exporter.exposition_samples import value

LABELS = {"tenant": "acme", "provider": "deepgram", "pipeline": "cascade"}


def turn(clock, call_id="c-1", **labels):
    return {"type": "turn", "ts": clock.now, "call_id": call_id, **labels, "attrs": {"latency_seconds": 0.8}}


def test_a_call_heard_from_after_its_idle_timeout_is_taken_up_again_not_adopted_as_a_new_call():
    clock = Clock()
    exporter = make(clock, idle_seconds=600)
    exporter.ingest([started(clock)])
    clock.now += 601
    assert exporter.sweep() == 1
    assert value(exporter, "ai_agent_active_calls", tenant="acme", provider="deepgram") == 0
    clock.now += 30
    accepted, _, rejected = exporter.ingest([turn(clock, **LABELS)])  # the call's labels are not remembered
    assert accepted == 1 and not rejected
    assert value(exporter, "ai_agent_active_calls", tenant="acme", provider="deepgram") == 1
    exporter.ingest([ended(clock, reason="caller hung up", duration=631.0)])
    assert value(exporter, "ai_agent_calls_started_total", **LABELS) == 1
    assert value(exporter, "ai_agent_calls_adopted_total", **LABELS) is None
    assert value(exporter, "ai_agent_calls_ended_total", reason="user_hangup", **LABELS) == 1
    assert value(exporter, "ai_agent_active_calls", tenant="acme", provider="deepgram") == 0


def test_a_call_first_seen_mid_way_is_still_adopted_and_one_removed_after_its_grace_still_refused():
    clock = Clock()
    exporter = make(clock, idle_seconds=600, grace_seconds=10)
    exporter.ingest([turn(clock, "never-started")])
    assert (
        value(exporter, "ai_agent_calls_adopted_total", tenant="unknown", provider="unknown", pipeline="unknown") == 1
    )
    exporter.ingest([started(clock), ended(clock)])
    clock.now += 11
    exporter.sweep()
    _, _, rejected = exporter.ingest([turn(clock)])
    assert [r["error"] for r in rejected] == ["call c-1 has ended and its series were removed"]


def test_a_call_heard_from_after_the_removed_call_guard_is_a_new_call_adopted():
    clock = Clock()
    exporter = make(clock, idle_seconds=600)
    exporter.ingest([started(clock)])
    clock.now += 601
    exporter.sweep()
    clock.now += exporter.limits.retry_window_seconds + 1  # an hour and five minutes by default
    exporter.sweep()
    exporter.ingest([turn(clock, **LABELS)])
    assert value(exporter, "ai_agent_calls_adopted_total", **LABELS) == 1


def test_the_ids_of_calls_removed_while_idle_are_counted_in_what_the_exporter_holds_until_forgotten():
    clock = Clock()
    exporter = make(clock, idle_seconds=600)
    exporter.ingest([started(clock, f"c-{i}") for i in range(5)])
    clock.now += 601
    exporter.sweep()
    assert exporter.held == 5
    clock.now += exporter.limits.retry_window_seconds + 1
    exporter.sweep()
    assert exporter.held == 0
