"""The exporter's core: a batch in, each event validated, counted once by its id, and applied."""

import orjson
import pytest

from tests.exporter.call_events import started
from tests.exporter.clocked_exporter import Clock, make
from voice_monitoring.exporter import core
from voice_monitoring.exporter.events import validate
from voice_monitoring.exporter.request_body import parse_body


def turn(clock: Clock, event_id: str, latency: float = 0.5) -> dict:
    return {"type": "turn", "ts": clock.now, "call_id": "c-1", "id": event_id, "attrs": {"latency_seconds": latency}}


def test_an_id_twice_in_one_batch_is_applied_once():
    clock = Clock()
    exporter = make(clock)
    assert exporter.ingest([started(clock), turn(clock, "t-1"), turn(clock, "t-1")])[:2] == (2, 1)
    assert exporter.registry.calls["c-1"].turns == 1


def test_the_id_of_a_refused_event_is_not_remembered_so_the_corrected_event_is_applied():
    clock = Clock()
    exporter = make(clock)
    accepted, duplicates, rejected = exporter.ingest([started(clock), turn(clock, "t-1", latency=-1)])
    assert (accepted, duplicates, [r["index"] for r in rejected]) == (1, 0, [1])
    assert exporter.ingest([turn(clock, "t-1")])[:2] == (1, 0)
    assert exporter.ingest([turn(clock, "t-1")])[:2] == (0, 1)


def test_ids_applied_in_one_batch_are_duplicates_in_the_next_until_the_retry_window_passes():
    clock = Clock()
    exporter = make(clock, max_age_seconds=60, max_future_seconds=10)
    exporter.ingest([started(clock)] + [turn(clock, f"t-{n}") for n in range(5)])
    clock.now += 69
    assert exporter.ingest([turn(clock, f"t-{n}") for n in range(5)])[:2] == (0, 5)
    clock.now += 2
    assert exporter.ingest([turn(clock, f"t-{n}") for n in range(5)])[:2] == (5, 0)


def test_a_body_that_passed_the_compiled_check_is_applied_as_one_checked_event_by_event():
    clock = Clock()
    batch = [started(clock, tenant="x" * 128), turn(clock, "t-1"), turn(clock, "t-2", latency=3600)]
    body = orjson.dumps(batch)
    parsed = parse_body(body, "application/json", 100)
    assert parsed.fields_checked
    fast, slow = make(clock), make(clock)
    assert fast.ingest(parsed.events, fields_checked=True) == slow.ingest(orjson.loads(body)) == (3, 0, [])
    assert fast.render() == slow.render()


def test_events_applied_before_a_failure_ends_the_batch_stay_counted_once(monkeypatch):
    clock = Clock()
    exporter = make(clock)
    batch = [started(clock, id="s-1"), turn(clock, "t-1"), turn(clock, "t-2")]
    checked = []

    def validate_until_the_third(event, *args):
        checked.append(event)
        if len(checked) == 3:
            raise RuntimeError("a bug of ours")
        return validate(event, *args)

    monkeypatch.setattr(core, "validate", validate_until_the_third)
    with pytest.raises(RuntimeError):
        exporter.ingest(batch)
    monkeypatch.undo()
    assert exporter.ingest(batch)[:2] == (1, 2)  # the first two are retries, the third is new
    assert exporter.registry.calls["c-1"].turns == 2


@pytest.mark.parametrize("checked", [True, False], ids=["compiled check passed", "checked field by field"])
def test_a_json_body_s_events_are_held_to_the_time_window_whichever_way_they_were_checked(checked):
    clock = Clock()
    exporter = make(clock, max_age_seconds=60, max_future_seconds=5)
    now = clock.now
    stamps = [now - 60.001, now - 60, now + 5, now + 5.001]
    body = orjson.dumps([{**turn(clock, f"t-{i}"), "call_id": f"c-{i}", "ts": ts} for i, ts in enumerate(stamps)])
    parsed = parse_body(body, "application/json", 100)
    assert parsed.fields_checked
    accepted, _, rejected = exporter.ingest(parsed.events, fields_checked=checked)
    assert accepted == 2
    assert [(r["index"], r["error"].split(" ", 1)[0]) for r in rejected] == [(0, "ts"), (3, "ts")]
    assert "in the past" in rejected[0]["error"] and "in the future" in rejected[1]["error"]
