"""The state file on its own (``exporter/state_file.py``): every field of a call back as it was, the older format
still read, and a file that cannot be used refused with its reason."""

from __future__ import annotations

import sqlite3

import orjson
import pytest

from tests.exporter.call_events import ended, started
from tests.exporter.clocked_exporter import Clock, make
from voice_monitoring.exporter import state_file
from voice_monitoring.exporter.calls import Call
from voice_monitoring.exporter.registry import GRACE, IDLE

SLOTS = tuple(name for name in Call.__slots__ if name != "_labels")


def every_field_set(call_id: str, now: float) -> Call:
    """A call whose every field holds a value unlike its default."""
    call = Call(call_id, "acme", "deepgram", "s2s", now - 50)
    call.agent, call.agent_version, call.model = "support-bot", "v7", "gpt-4o"
    call.transport, call.codec, call.state = "webrtc", "opus", "speaking"
    call.started = call.adopted = call.tts_gating = call.audio_capture = call.exposed = call.promoted = True
    call.started_at, call.last_seen = now - 40, now - 1
    call.end_reason_raw = "Caller Hung Up"
    for latency in (0.4, 0.9, 2.5):
        call.add_turn(latency)
    call.reported_turn_response_p95 = 1.7
    call.agent_speech = 12.5
    call.underflows, call.fallbacks, call.barge_ins, call.false_interruptions = 3, 1, 2, 4
    call.add_reaction(0.35)
    call.codec_checks, call.codec_aligned = 5, 4
    for rms in (0.2, 0.05, 0.1):
        call.add_rms(rms)
    call.rtt, call.jitter, call.loss, call.burst, call.concealment, call.clipping = 0.11, 0.02, 0.03, 0.4, 0.05, 0.06
    call.reported_cost = {"llm": 0.5}
    call.add_usage("stt", "deepgram", "audio_seconds", 60, 0.0125)
    call.add_usage("tts", "cartesia", "characters", 900, None)
    call.feedback_sources = ["csat", "agent"]
    return call


def test_every_field_of_a_call_comes_back_as_it_was_saved(tmp_path):
    clock = Clock()
    before = make(clock)
    saved = every_field_set("c-1", clock.now)
    before.registry.calls["c-1"] = saved
    path = tmp_path / "state.sqlite"
    assert state_file.save(before, path) == 1
    after = make(clock)
    assert state_file.restore(after, path) == 1
    back = after.registry.calls["c-1"]
    assert {name: getattr(back, name) for name in SLOTS} == {name: getattr(saved, name) for name in SLOTS}
    assert back.usage == {("stt", "deepgram"): [0.0125, 1]}
    assert back.label_text() == saved.label_text()


def test_a_saved_call_keeps_its_running_cost_and_settles_its_usage_at_the_end(tmp_path):
    clock = Clock()
    before = make(clock)
    usage = {"service": "stt", "unit": "audio_seconds", "quantity": 120}
    before.ingest([started(clock), {"type": "usage", "ts": clock.now, "call_id": "c-1", "attrs": usage}])
    cost = before.registry.calls["c-1"].running_cost()
    assert cost > 0
    path = tmp_path / "state.sqlite"
    state_file.save(before, path)
    after = make(clock)
    state_file.restore(after, path)
    assert after.registry.calls["c-1"].running_cost() == cost
    after.ingest([ended(clock)])
    assert after.fleet.child("ai_agent_cost_usd_total", "acme", "deepgram", "stt").value == cost


def format_2_file(path, saved_at: float, removed: list[tuple[float, str]], ids: list[tuple[float, str]]) -> None:
    """A state file as format 2 wrote it: its ``removed`` table has no reason column."""
    db = sqlite3.connect(path)
    with db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value)")
        db.execute("CREATE TABLE calls (call_id TEXT PRIMARY KEY, fields BLOB NOT NULL)")
        db.execute("CREATE TABLE ended (remove_at REAL NOT NULL, call_id TEXT NOT NULL)")
        db.execute("CREATE TABLE removed (seq INTEGER PRIMARY KEY, forget_at REAL NOT NULL, call_id TEXT NOT NULL)")
        db.execute("CREATE TABLE event_ids (seq INTEGER PRIMARY KEY, forget_at REAL NOT NULL, id TEXT NOT NULL)")
        db.executemany("INSERT INTO meta VALUES (?, ?)", [("format", 2), ("saved_at", saved_at)])
        fields = {"tenant": "acme", "provider": "deepgram", "pipeline": "cascade", "last_seen": saved_at, "turns": 3}
        fields["reported_turn_p95"] = 1.85  # the field's name in format 2
        db.execute("INSERT INTO calls VALUES (?, ?)", ("live-1", orjson.dumps(fields)))
        db.executemany("INSERT INTO removed VALUES (?, ?, ?)", [(i, *row) for i, row in enumerate(removed)])
        db.executemany("INSERT INTO event_ids VALUES (?, ?, ?)", [(i, *row) for i, row in enumerate(ids)])
    db.close()


def test_a_format_2_file_is_read_and_each_removed_call_taken_as_removed_after_its_grace(tmp_path):
    clock = Clock()
    path = tmp_path / "state.sqlite"
    format_2_file(
        path, clock.now, [(clock.now + 600, "gone-1"), (clock.now + 900, "gone-2")], [(clock.now + 60, "e-1")]
    )
    exporter = make(clock)
    assert state_file.restore(exporter, path) == 1 and not path.exists()
    assert exporter.registry.calls["live-1"].turns == 3
    assert exporter.registry.calls["live-1"].reported_turn_response_p95 == 1.85
    assert exporter.registry.removed.entries() == [
        (clock.now + 600, "gone-1", GRACE),
        (clock.now + 900, "gone-2", GRACE),
    ]
    late = {"type": "turn", "ts": clock.now, "call_id": "gone-2", "attrs": {"latency_seconds": 0.5}}
    accepted, duplicates, rejected = exporter.ingest([late, {**started(clock, "again"), "id": "e-1"}])
    assert (accepted, duplicates) == (0, 1) and "has ended" in rejected[0]["error"]


def test_a_format_3_file_keeps_how_each_removed_call_left(tmp_path):
    clock = Clock()
    before = make(clock, idle_seconds=30)
    before.ingest([started(clock, "quiet"), started(clock, "done"), ended(clock, "done")])
    clock.now += 121
    assert before.sweep() == 2
    path = tmp_path / "state.sqlite"
    state_file.save(before, path)
    after = make(clock)
    state_file.restore(after, path)
    assert {key: how for _, key, how in after.registry.removed.entries()} == {"quiet": IDLE, "done": GRACE}


@pytest.mark.parametrize("written", [1, 4, "3", None])
def test_a_format_the_exporter_does_not_know_is_refused_and_the_file_kept(tmp_path, written):
    clock = Clock()
    path = tmp_path / "state.sqlite"
    state_file.save(make(clock), path)
    db = sqlite3.connect(path)
    with db:
        if written is None:
            db.execute("DELETE FROM meta WHERE key = 'format'")
        else:
            db.execute("UPDATE meta SET value = ? WHERE key = 'format'", (written,))
    db.close()
    with pytest.raises(state_file.StateFileError, match=r"state format .*expected one of \(2, 3\)"):
        state_file.restore(make(clock), path)
    assert path.exists()


@pytest.mark.parametrize(
    "damage",
    [
        "DROP TABLE event_ids",
        "DROP TABLE meta",
        "INSERT INTO calls VALUES ('c-9', 'not json')",
        "INSERT INTO calls VALUES ('c-9', '{\"tenant\": \"acme\"}')",
    ],
)
def test_a_file_that_cannot_be_read_whole_is_refused_and_nothing_is_restored(tmp_path, damage):
    clock = Clock()
    before = make(clock)
    before.ingest([{**started(clock), "id": "e-1"}])
    path = tmp_path / "state.sqlite"
    state_file.save(before, path)
    db = sqlite3.connect(path)
    with db:
        db.execute(damage)
    db.close()
    after = make(clock)
    with pytest.raises(state_file.StateFileError, match="cannot read the saved state"):
        state_file.restore(after, path)
    assert len(after.registry) == 0 and len(after.ids) == 0 and path.exists()


def test_a_missing_file_restores_nothing():
    exporter = make(Clock())
    assert state_file.restore(exporter, "/nonexistent/state.sqlite") == 0


def test_state_is_not_restored_into_an_exporter_that_holds_calls_and_the_file_is_kept(tmp_path):
    clock = Clock()
    before = make(clock)
    before.ingest([started(clock, "saved")])
    path = tmp_path / "state.sqlite"
    state_file.save(before, path)
    busy = make(clock)
    busy.ingest([started(clock, "own")])
    with pytest.raises(state_file.StateFileError, match="fresh exporter"):
        state_file.restore(busy, path)
    assert path.exists() and set(busy.registry.calls) == {"own"}


def test_ids_whose_window_passed_while_the_exporter_was_down_are_not_restored(tmp_path):
    clock = Clock()
    limits = {"max_age_seconds": 100, "max_future_seconds": 0, "grace_seconds": 5}
    before = make(clock, **limits)
    before.ingest([{**started(clock, "old"), "id": "e-old"}, ended(clock, "old")])
    clock.now += 6
    before.sweep()  # "old" is removed at +6, guarded until +106
    clock.now += 44
    before.ingest([{**started(clock, "mid"), "id": "e-mid"}, ended(clock, "mid")])
    clock.now += 6
    before.sweep()  # "mid" is removed at +56, guarded until +156
    path = tmp_path / "state.sqlite"
    state_file.save(before, path)
    db = sqlite3.connect(path)
    assert {row[0] for row in db.execute("SELECT id FROM event_ids")} == {"e-old", "e-mid"}
    assert {row[0] for row in db.execute("SELECT call_id FROM removed")} == {"old", "mid"}
    db.close()
    clock.now += 64  # at +120: e-old (until +100) and the guard on "old" have passed, the others not
    after = make(clock, **limits)
    state_file.restore(after, path)
    assert "e-old" not in after.ids and "e-mid" in after.ids
    assert "old" not in after.registry.removed and after.registry.removed_after_grace("mid")


def test_a_save_replaces_the_file_whole_and_leaves_no_partial_file(tmp_path):
    clock = Clock()
    exporter = make(clock)
    exporter.ingest([started(clock, "a"), started(clock, "b")])
    path = tmp_path / "state.sqlite"
    path.write_bytes(b"an older file")
    assert state_file.save(exporter, path) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["state.sqlite"]
    db = sqlite3.connect(path)
    assert dict(db.execute("SELECT key, value FROM meta")) == {"format": state_file.FORMAT, "saved_at": clock.now}
    db.close()
