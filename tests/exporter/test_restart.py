"""Restarts lose nothing: a rolling restart keeps in-flight calls and dedup memory; after a crash, events that
carry their labels adopt their call; the process start time tells Prometheus about counter resets."""

import time

import pytest

from tests.exporter.call_events import ended, started
from tests.exporter.clocked_exporter import Clock, make
from tests.exporter.exposition_samples import Page, value
from tests.harness import post_events, start_exporter
from voice_monitoring.exporter import state_file


@pytest.mark.binaries
def test_a_rolling_restart_keeps_every_in_flight_call_and_the_dedup_memory(tmp_path):
    clock = Clock()
    clock.now = time.time()
    state = tmp_path / "exporter-state.sqlite"
    starts = [started(clock, f"c-{i}", id=f"start-{i}") for i in range(10)]
    speaking = [
        {"type": "state", "ts": clock.now, "call_id": f"c-{i}", "attrs": {"state": "speaking"}} for i in range(10)
    ]
    turns = [
        {"type": "turn", "ts": clock.now, "call_id": f"c-{i}", "attrs": {"latency_seconds": 0.5}} for i in range(10)
    ]
    with start_exporter(tmp_path, "--state-file", str(state)) as service:
        assert post_events(service.url, starts + speaking + turns).json()["accepted"] == 30
    assert state.exists()
    with start_exporter(tmp_path, "--state-file", str(state)) as service:
        page = Page(service)
        assert value(page, "ai_agent_active_calls", tenant="acme", provider="deepgram") == 10
        assert value(page, "ai_agent_conversation_state", state="speaking") == 10
        assert value(page, "ai_agent_call_turns", call_id="c-3", provider="deepgram", tenant="acme") == 1
        assert post_events(service.url, starts[:3]).json() == {"accepted": 0, "duplicates": 3}
        assert post_events(service.url, [ended(clock, f"c-{i}", reason="error") for i in range(10)]).status_code == 200
        labels = {"tenant": "acme", "provider": "deepgram", "pipeline": "cascade"}
        assert value(page, "ai_agent_calls_ended_total", reason="error", **labels) == 10
        assert (
            value(
                page,
                "ai_agent_calls_ended_total",
                reason="error",
                tenant="unknown",
                provider="unknown",
                pipeline="unknown",
            )
            is None
        )
        assert value(page, "ai_agent_active_calls", tenant="acme", provider="deepgram") == 0
        assert value(page, "ai_agent_conversation_state", state="speaking") == 0
        assert value(page, "process_start_time_seconds") >= clock.now


def test_after_a_crash_an_event_carrying_its_labels_adopts_its_call_and_is_counted_apart():
    clock = Clock()
    exporter = make(clock)
    turn = {
        "type": "turn",
        "ts": clock.now,
        "call_id": "c-1",
        "tenant": "acme",
        "provider": "deepgram",
        "pipeline": "cascade",
        "attrs": {"latency_seconds": 0.5},
    }
    assert exporter.ingest([turn])[0] == 1
    labels = {"tenant": "acme", "provider": "deepgram", "pipeline": "cascade"}
    assert value(exporter, "ai_agent_calls_adopted_total", **labels) == 1
    assert value(exporter, "ai_agent_calls_started_total", **labels) is None
    assert value(exporter, "ai_agent_active_calls", tenant="acme", provider="deepgram") == 1
    assert exporter.ingest([ended(clock)])[0] == 1
    assert value(exporter, "ai_agent_calls_ended_total", reason="user_hangup", **labels) == 1
    assert value(exporter, "ai_agent_active_calls", tenant="acme", provider="deepgram") == 0


def test_a_call_started_that_arrives_after_its_call_was_adopted_completes_it_without_counting_it_twice():
    clock = Clock()
    exporter = make(clock)
    turn = {"type": "turn", "ts": clock.now, "call_id": "c-1", "attrs": {"latency_seconds": 0.5}}
    _, _, rejected = exporter.ingest([turn, started(clock)])
    assert rejected == []
    assert (
        value(exporter, "ai_agent_calls_adopted_total", tenant="unknown", provider="unknown", pipeline="unknown") == 1
    )
    assert (
        value(exporter, "ai_agent_calls_started_total", tenant="acme", provider="deepgram", pipeline="cascade") is None
    )
    assert value(exporter, "ai_agent_active_calls", tenant="unknown", provider="unknown") == 0
    assert value(exporter, "ai_agent_active_calls", tenant="acme", provider="deepgram") == 1
    assert value(exporter, "ai_agent_active_calls_by_transport", transport="audiosocket") == 1
    assert exporter.ingest([started(clock)])[2][0]["error"] == "call c-1 has already started"
    exporter.ingest([ended(clock)])
    assert value(exporter, "ai_agent_active_calls", tenant="acme", provider="deepgram") == 0
    assert value(exporter, "ai_agent_active_calls_by_transport", transport="audiosocket") == 0


def test_the_exposition_carries_the_process_start_time():
    clock = Clock()
    assert value(make(clock), "process_start_time_seconds") == clock.now


def test_calls_in_their_grace_period_and_the_guard_against_removed_calls_survive_a_restart(tmp_path):
    clock = Clock()
    before = make(clock)
    before.ingest([started(clock, "c-1"), ended(clock, "c-1")])
    clock.now += 121
    before.sweep()
    before.ingest([started(clock, "c-2"), ended(clock, "c-2")])
    path = tmp_path / "state.sqlite"
    assert state_file.save(before, path) == 1
    after = make(clock)
    assert state_file.restore(after, path) == 1 and not path.exists()
    late = {"type": "turn", "ts": clock.now, "call_id": "c-1", "attrs": {"latency_seconds": 0.5}}
    assert "has ended" in after.ingest([late])[2][0]["error"]
    assert value(after, "ai_agent_call_ended", call_id="c-2", provider="deepgram", tenant="acme") == 1
    clock.now += 121
    assert after.sweep() == 1


def test_an_unreadable_state_file_is_refused_with_its_reason(tmp_path):
    path = tmp_path / "state.sqlite"
    path.write_bytes(b"not a database")
    with pytest.raises(state_file.StateFileError, match="cannot read the saved state"):
        state_file.restore(make(Clock()), path)
