"""A crash loses at most one checkpoint window: live calls and event ids are written to the state file every
few seconds, not only on shutdown, so after ``kill -9`` the calls in flight keep their labels and re-posted
event ids are still recognised."""

import time

import pytest

from tests.exporter.call_events import ended, started
from tests.exporter.clocked_exporter import Clock, make
from tests.exporter.exposition_samples import Page, value
from tests.harness import post_events, start_exporter
from voice_monitoring.exporter import state_file

CHECKPOINT_SECONDS = 1.0


@pytest.mark.binaries
def test_after_kill_9_mid_call_the_calls_in_flight_keep_their_labels_and_their_event_ids(tmp_path):
    clock = Clock()
    clock.now = time.time()
    state = tmp_path / "exporter-state.sqlite"
    env = {"EXPORTER_STATE_CHECKPOINT_SECONDS": str(CHECKPOINT_SECONDS)}
    starts = [started(clock, f"c-{i}", id=f"start-{i}") for i in range(10)]
    turns = [
        {"type": "turn", "ts": clock.now, "call_id": f"c-{i}", "id": f"turn-{i}", "attrs": {"latency_seconds": 0.5}}
        for i in range(10)
    ]
    with start_exporter(tmp_path, "--state-file", str(state), env=env) as service:
        assert post_events(service.url, starts + turns).json()["accepted"] == 20
        time.sleep(2.5 * CHECKPOINT_SECONDS)
        service.process.kill()
        service.process.wait(10)
    with start_exporter(tmp_path, "--state-file", str(state), env=env) as service:
        page = Page(service)
        assert value(page, "ai_agent_active_calls", tenant="acme", provider="deepgram") == 10
        assert value(page, "ai_agent_active_calls", tenant="unknown", provider="unknown") is None
        assert value(page, "ai_agent_call_turns", call_id="c-3", provider="deepgram", tenant="acme") == 1
        assert post_events(service.url, starts[:3] + turns[:3]).json() == {"accepted": 0, "duplicates": 6}
        assert post_events(service.url, [ended(clock, f"c-{i}", reason="error") for i in range(10)]).status_code == 200
        labels = {"tenant": "acme", "provider": "deepgram", "pipeline": "cascade"}
        assert value(page, "ai_agent_calls_ended_total", reason="error", **labels) == 10
        assert value(page, "ai_agent_active_calls", tenant="acme", provider="deepgram") == 0


def test_a_checkpoint_written_while_a_call_is_live_does_not_bring_it_back_once_it_has_ended(tmp_path):
    clock = Clock()
    exporter = make(clock)
    path = tmp_path / "state.sqlite"
    exporter.ingest([started(clock, "c-1"), started(clock, "c-2")])
    assert state_file.save(exporter, path) == 2
    exporter.ingest([ended(clock, "c-1")])
    clock.now += 121
    exporter.sweep()
    assert state_file.save(exporter, path) == 1
    after = make(clock)
    assert state_file.restore(after, path) == 1
    assert value(after, "ai_agent_active_calls", tenant="acme", provider="deepgram") == 1


@pytest.mark.binaries
def test_a_checkpoint_interval_of_zero_writes_the_state_file_on_shutdown_only(tmp_path):
    clock = Clock()
    clock.now = time.time()
    state = tmp_path / "exporter-state.sqlite"
    env = {"EXPORTER_STATE_CHECKPOINT_SECONDS": "0"}
    with start_exporter(tmp_path, "--state-file", str(state), env=env) as service:
        assert post_events(service.url, [started(clock, "c-1")]).json()["accepted"] == 1
        time.sleep(1.5)
        assert not state.exists()
    assert state.exists()
