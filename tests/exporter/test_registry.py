"""The call registry on its own: where a call is born (resolve), counted live, rendered, removed and remembered."""

import pytest

from tests.exporter.call_events import ended, started
from tests.exporter.clocked_exporter import Clock, make
from voice_monitoring.exporter import state_file
from voice_monitoring.exporter.events import InvalidEvent
from voice_monitoring.exporter.feedback import FeedbackLedger
from voice_monitoring.exporter.fleet import FleetMetrics
from voice_monitoring.exporter.labels import LabelLimiter
from voice_monitoring.exporter.registry import GRACE, IDLE, CallRegistry, Resolved
from voice_monitoring.exporter.sampling import PerCallSampling


def registry(**bounds) -> tuple[CallRegistry, FleetMetrics]:
    fleet = FleetMetrics(100)
    settings = {"grace_seconds": 10, "idle_seconds": 60, "guard_seconds": 100, "max_live_calls": 3, **bounds}
    labels = LabelLimiter(10, lambda label: None)
    return CallRegistry(fleet, labels, FeedbackLedger(30, 30), PerCallSampling(1.0), **settings), fleet


def gauge(fleet: FleetMetrics, name: str, *labels: str) -> float:
    return fleet.child(name, *labels).value


def turn(call_id: str, ts: float = 0.0, **labels) -> dict:
    return {"type": "turn", "ts": ts, "call_id": call_id, **labels, "attrs": {"latency_seconds": 1.0}}


def test_resolve_names_the_call_and_each_label_the_event_gave_or_the_call_holds():
    calls, _ = registry()
    first = calls.resolve(turn("c-1", tenant="acme", provider="deepgram"), now=0.0)
    assert isinstance(first, Resolved)
    assert (first.tenant, first.provider, first.pipeline) == ("acme", "deepgram", "unknown")
    later = calls.resolve(turn("c-1", pipeline="cascade"), now=1.0)
    assert later.call is first.call and (later.tenant, later.provider, later.pipeline) == (
        "acme",
        "deepgram",
        "cascade",
    )
    assert first.call.last_seen == 1.0
    assert calls.resolve({"type": "health", "ts": 0.0}, now=2.0).call is None


def test_call_of_is_resolve_s_call_touched_adopted_and_labelled_alike():
    events = [turn("c-1"), turn("c-1", tenant="acme"), turn("c-2", provider="deepgram"), turn("c-1", ts=5.0)]
    by_resolve, _ = registry()
    by_call_of, _ = registry()
    for now, event in enumerate(events):
        resolved = by_resolve.resolve(event, float(now)).of_call()
        call = by_call_of.call_of(event, float(now))
        assert (call.call_id, call.tenant, call.provider, call.adopted, call.last_seen) == (
            resolved.call_id,
            resolved.tenant,
            resolved.provider,
            resolved.adopted,
            resolved.last_seen,
        )
    assert by_call_of.label._seen == by_resolve.label._seen
    with pytest.raises(InvalidEvent, match="call_id is required"):
        by_call_of.call_of({"type": "state", "ts": 0.0, "attrs": {}}, 9.0)


def test_a_call_first_seen_by_another_event_is_adopted_and_counted_live():
    calls, fleet = registry()
    call = calls.resolve(turn("c-1", tenant="acme", provider="deepgram"), now=0.0).call
    assert call.adopted and call.started
    assert gauge(fleet, "ai_agent_calls_adopted_total", "acme", "deepgram", "unknown") == 1
    assert gauge(fleet, "ai_agent_active_calls", "acme", "deepgram") == 1


def test_no_more_calls_than_the_bound_are_held():
    calls, _ = registry(max_live_calls=2)
    calls.resolve(turn("c-1"), 0.0)
    calls.resolve(turn("c-2"), 0.0)
    with pytest.raises(InvalidEvent) as refused:
        calls.resolve(turn("c-3"), 0.0)
    assert refused.value.reason == "too_many_calls" and len(calls) == 2


def test_a_call_removed_after_its_grace_and_one_removed_while_idle_are_remembered_alike_with_how_they_left():
    calls, fleet = registry()
    clock = Clock()
    clock.now = 0.0
    calls.start(started(clock, "done"), {}, 0.0)
    calls.end(ended(clock, "done"), {"duration_seconds": 5.0, "reason": "caller hung up"}, 0.0)
    calls.resolve(turn("quiet"), 0.0)
    assert calls.expire(61.0) == 2 and len(calls) == 0
    assert calls.removed.get("done") == GRACE and calls.removed.get("quiet") == IDLE
    assert calls.removed_after_grace("done") and not calls.removed_after_grace("quiet")
    assert gauge(fleet, "ai_agent_exporter_calls_expired_total", "grace") == 1
    assert gauge(fleet, "ai_agent_exporter_calls_expired_total", "idle") == 1
    with pytest.raises(InvalidEvent) as refused:
        calls.resolve(turn("done"), 62.0)
    assert refused.value.reason == "call_expired"
    again = calls.resolve(turn("quiet"), 62.0).call
    assert again.adopted and gauge(fleet, "ai_agent_calls_adopted_total", "unknown", "unknown", "unknown") == 1
    calls.expire(62.0 + 100.0 + 1.0)  # the retry window passed: neither is remembered
    assert "done" not in calls.removed


def test_removed_ids_beyond_their_bound_are_forgotten_early_and_counted():
    forgotten = []
    calls, _ = registry(remember_removed=2, max_live_calls=10, on_forget_early=lambda: forgotten.append(1))
    for n in range(4):
        calls.resolve(turn(f"c-{n}"), 0.0)
    calls.expire(61.0)
    assert len(calls.removed) == 2 and len(forgotten) == 2


def test_render_shows_the_calls_it_holds_and_nothing_after_they_are_removed():
    calls, _ = registry()
    calls.resolve(turn("c-1", tenant="acme", provider="deepgram"), 0.0)
    text, count = calls.render()
    assert 'call_id="c-1"' in text and count > 0
    calls.expire(61.0)
    text, count = calls.render()
    assert 'call_id="c-1"' not in text and count == 0


def test_state_is_restored_into_an_empty_registry_only():
    calls, _ = registry()
    calls.resolve(turn("c-1"), 0.0)
    with pytest.raises(ValueError):
        calls.restore([], [], [], 0.0)


def test_a_call_removed_while_idle_is_remembered_across_a_restart_and_taken_up_again_not_adopted(tmp_path):
    clock = Clock()
    before = make(clock, idle_seconds=600)
    before.ingest([started(clock)])
    clock.now += 601
    before.sweep()
    state_file.save(before, tmp_path / "state.db")
    after = make(clock, idle_seconds=600)
    state_file.restore(after, tmp_path / "state.db")
    assert after.registry.removed.get("c-1") == IDLE
    after.ingest([turn("c-1", ts=clock.now, tenant="acme", provider="deepgram", pipeline="cascade")])
    assert after.registry.get("c-1").adopted
    assert gauge(after.fleet, "ai_agent_calls_adopted_total", "acme", "deepgram", "cascade") == 0
