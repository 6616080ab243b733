"""The exporter's one sweep and its checkpoints, run by the service from bind to shutdown."""

import requests

from tests.exporter.call_events import ended, started
from tests.exporter.clocked_exporter import Clock, make
from tests.harness import wait_for
from voice_monitoring.exporter import state_file
from voice_monitoring.exporter.housekeeping import Housekeeping
from voice_monitoring.exporter.server import ExporterServer


def test_the_sweep_removes_calls_past_their_grace_and_checkpoints_the_state_while_it_runs(tmp_path):
    clock = Clock()
    exporter = make(clock, grace_seconds=10)
    exporter.ingest([started(clock, "done"), ended(clock, "done"), started(clock, "live")])
    path = tmp_path / "state.db"
    housekeeping = Housekeeping(exporter, sweep_seconds=0.02, state_path=path, checkpoint_seconds=0.05)
    housekeeping.start()
    try:
        wait_for(path.exists, 5, what="the first checkpoint")
        clock.now += 11
        wait_for(lambda: exporter.live_calls == 1, 5, what="the sweep to remove the ended call")
    finally:
        housekeeping.stop()
    restored = make(clock, grace_seconds=10)
    assert state_file.restore(restored, path) == 1
    assert restored.registry.get("live") is not None and restored.registry.get("done") is None


def test_the_server_sweeps_from_bind_and_writes_the_state_once_the_last_request_is_done(tmp_path):
    clock = Clock()
    exporter = make(clock, grace_seconds=10)
    path = tmp_path / "state.db"
    housekeeping = Housekeeping(exporter, sweep_seconds=0.02, state_path=path, checkpoint_seconds=0)
    server = ExporterServer(("127.0.0.1", 0), exporter, housekeeping=housekeeping)
    with server.running():
        url = f"http://127.0.0.1:{server.port}/v1/events"
        assert requests.post(url, json=[started(clock, "c-1"), ended(clock, "c-1")], timeout=5).status_code == 200
        assert requests.post(url, json=[started(clock, "c-2")], timeout=5).status_code == 200
        clock.now += 11
        wait_for(lambda: exporter.live_calls == 1, 5, what="the sweep to remove the ended call")
        assert not path.exists()  # checkpoints off: written on shutdown only
    restored = make(clock, grace_seconds=10)
    assert state_file.restore(restored, path) == 1
