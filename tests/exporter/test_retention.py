"""What the exporter remembers is bounded, and a retry is deduplicated for as long as it would be accepted."""

import tracemalloc

from tests.exporter.call_events import ended, started
from tests.exporter.clocked_exporter import Clock, make
from tests.exporter.exposition_samples import value
from voice_monitoring.exporter.core import Exporter, Limits
from voice_monitoring.exporter.pricing import PriceTable


def turn(clock, event_id, call_id="c-1"):
    return {"type": "turn", "ts": clock.now, "call_id": call_id, "id": event_id, "attrs": {"latency_seconds": 0.4}}


def test_a_retry_is_a_duplicate_for_as_long_as_the_event_is_young_enough_to_be_accepted():
    clock = Clock()
    exporter = make(clock)
    event = turn(clock, "evt-1")
    assert exporter.ingest([event])[:2] == (1, 0)
    clock.now += exporter.limits.max_age_seconds - 1  # the oldest retry still accepted
    accepted, duplicates, rejected = exporter.ingest([event])
    assert (accepted, duplicates, rejected) == (0, 1, [])
    clock.now += 2  # now too old: refused, never counted twice
    accepted, duplicates, rejected = exporter.ingest([event])
    assert accepted == 0 and duplicates == 0 and "in the past" in rejected[0]["error"]
    assert value(exporter, "ai_agent_turns_total", pipeline="unknown", provider="unknown") == 1


def test_an_event_from_the_future_is_remembered_until_it_is_too_old():
    clock = Clock()
    exporter = make(clock)
    event = turn(clock, "evt-2")
    event["ts"] = clock.now + exporter.limits.max_future_seconds
    assert exporter.ingest([event])[:2] == (1, 0)
    clock.now += exporter.limits.max_age_seconds + exporter.limits.max_future_seconds - 1
    exporter.sweep()
    assert exporter.ingest([event])[:2] == (0, 1)


def test_forgetting_an_id_early_because_the_bound_is_reached_is_counted():
    clock = Clock()
    exporter = make(clock, dedup_max_ids=10)
    exporter.ingest([turn(clock, f"evt-{i}") for i in range(15)])
    assert value(exporter, "ai_agent_exporter_dedup_ids_evicted_total") == 5
    assert exporter.ingest([turn(clock, "evt-14")])[:2] == (0, 1)


def grown_bytes(apply, rounds: int) -> int:
    """Bytes still allocated after rounds 1 to ``rounds`` of ``apply``, over what round 0 left."""
    apply(0)  # warm up every series and cache entry the steady state needs
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for i in range(1, rounds + 1):
            apply(i)
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    return sum(stat.size_diff for stat in after.compare_to(before, "filename"))


def test_usage_with_ever_new_model_names_does_not_grow_memory():
    exporter = Exporter(Limits())
    clock_now = exporter.clock()

    def usage(i):
        exporter.ingest(
            [
                {
                    "type": "usage",
                    "ts": clock_now,
                    "provider": "openai",
                    "model": f"gpt-{i}-{j}",
                    "attrs": {"service": "llm", "unit": "tokens_in", "quantity": 100},
                }
                for j in range(100)
            ]
        )

    assert grown_bytes(usage, 200) < 512 * 1024


def test_a_call_with_ever_new_model_names_keeps_one_usage_entry_per_service_and_provider():
    clock = Clock()
    exporter = make(clock)
    events = [
        {
            "type": "usage",
            "ts": clock.now,
            "call_id": "c-1",
            "provider": "openai",
            "model": f"gpt-{i}",
            "attrs": {"service": "llm", "unit": "tokens_in", "quantity": 1000},
        }
        for i in range(1000)
    ]
    assert exporter.ingest(events)[0] == 1000
    assert len(exporter.registry.calls["c-1"].usage) == 1
    exporter.ingest(
        [{"type": "call.ended", "ts": clock.now, "call_id": "c-1", "attrs": {"duration_seconds": 9, "reason": "user"}}]
    )
    assert value(exporter, "ai_agent_exporter_usage_priced_total", service="llm") == 1000


def test_the_price_cache_is_bounded_and_lookups_beyond_it_are_counted():
    prices = PriceTable({"stt": {"default": {"minutes": 0.01}}})  # an operator's table may declare a default
    prices.cache_limit = 3
    exporter = Exporter(Limits(), prices)
    now = exporter.clock()
    usage = [
        {"type": "usage", "ts": now, "provider": f"p{i}", "attrs": {"service": "stt", "unit": "minutes", "quantity": 1}}
        for i in range(10)
    ]
    assert exporter.ingest(usage + usage)[0] == 20
    assert value(exporter, "ai_agent_exporter_price_cache_overflow_total") == 14  # 7 providers, twice
    assert value(exporter, "ai_agent_exporter_usage_priced_total", service="stt") == 20


def test_a_removed_call_is_guarded_against_late_events_until_they_would_be_too_old_then_forgotten():
    clock = Clock()
    exporter = make(clock)
    exporter.ingest([started(clock), ended(clock)])
    clock.now += exporter.limits.grace_seconds + 1
    assert exporter.sweep() == 1
    late = {"type": "turn", "ts": clock.now, "call_id": "c-1", "attrs": {"latency_seconds": 0.4}}
    assert "has ended" in exporter.ingest([late])[2][0]["error"]
    clock.now += exporter.limits.retry_window_seconds + 1
    exporter.sweep()
    late["ts"] = clock.now  # an event of the call's own life is now refused as too old: this is a new call
    assert exporter.ingest([late])[:2] == (1, 0)


def test_forgetting_a_removed_call_early_because_the_guard_is_full_is_counted():
    clock = Clock()
    exporter = make(clock, grace_seconds=0)
    exporter.registry.removed.max_ids = 3
    for i in range(5):
        exporter.ingest([started(clock, f"c-{i}"), ended(clock, f"c-{i}")])
        exporter.sweep()
    assert value(exporter, "ai_agent_exporter_removed_calls_forgotten_total") == 2


def test_what_a_burst_of_calls_held_is_let_go_once_every_window_has_passed():
    clock = Clock()
    exporter = make(
        clock, grace_seconds=1, idle_seconds=3, max_age_seconds=4, max_future_seconds=1, feedback_window_seconds=4
    )

    def burst(first: int, calls: int):
        for start in range(first, first + calls, 500):
            batch = []
            for i in range(start, start + 500):
                batch += [started(clock, f"c-{i}"), ended(clock, f"c-{i}")]
            exporter.ingest([{**event, "id": f"e-{n}-{event['call_id']}"} for n, event in enumerate(batch)])
        for _ in range(2):
            clock.now += 10
            exporter.sweep()

    def small_then_large(round_):
        burst(10**6 * round_, 20_000 if round_ else 500)

    assert grown_bytes(small_then_large, 1) < 256 * 1024


def test_a_call_with_endless_turns_keeps_a_bounded_sample_of_its_latencies():
    clock = Clock()
    exporter = make(clock)
    turns = [
        {"type": "turn", "ts": clock.now, "call_id": "c-1", "attrs": {"latency_seconds": (i % 100) / 100}}
        for i in range(10_000)
    ]
    barge_ins = [
        {
            "type": "interruption",
            "ts": clock.now,
            "call_id": "c-1",
            "attrs": {"kind": "barge_in", "reaction_seconds": 1},
        }
    ] * 5_000
    assert exporter.ingest([started(clock)] + turns + barge_ins)[0] == 15_001
    call = exporter.registry.calls["c-1"]
    assert len(call.turn_latencies) <= 2000 and len(call.reactions) <= 2000
    labels = {"call_id": "c-1", "provider": "deepgram", "tenant": "acme"}
    assert value(exporter, "ai_agent_call_turns", **labels) == 10_000
    assert value(exporter, "ai_agent_call_barge_ins", **labels) == 5_000
    assert (
        abs(value(exporter, "ai_agent_call_turn_response_p95_seconds", **labels) - 0.94) <= 0.011
    )  # one step of the 0.01 grid


def test_memory_is_handed_back_once_a_burst_has_drained_not_while_it_drains(monkeypatch):
    """The release (a full collection, then malloc_trim) must come after the last of a burst is freed: what is
    freed after it stays on the interpreter's free lists and keeps the burst's arenas resident."""
    from voice_monitoring.exporter import core

    clock = Clock()
    exporter = make(
        clock, grace_seconds=1, idle_seconds=60, max_age_seconds=30, max_future_seconds=5, feedback_window_seconds=30
    )
    held_at_release = []
    monkeypatch.setattr(core, "release_freed_memory", lambda: held_at_release.append(exporter.held))
    for second in range(10):  # a burst: 1,500 calls a second, their events with ids
        batch = []
        for i in range(1500):
            call_id = f"burst-{second}-{i}"
            batch += [started(clock, call_id), turn(clock, f"{call_id}-turn", call_id), ended(clock, call_id)]
        exporter.ingest(batch)
        clock.now += 1
        exporter.sweep()
    for _ in range(60):  # then quiet: every window passes
        clock.now += 1
        exporter.sweep()
    assert exporter.held == 0
    assert held_at_release and held_at_release[-1] == 0, held_at_release
