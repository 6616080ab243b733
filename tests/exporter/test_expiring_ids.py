"""The one structure that remembers ids for a while, at most so many: its time, its bound and what it keeps."""

import pytest

from voice_monitoring.exporter.expiring_ids import COMPACT_ABOVE, ExpiringIds


def test_an_id_is_remembered_until_its_time_and_forgotten_at_it():
    ids = ExpiringIds(10)
    ids.remember("a", 100.0)
    ids.forget_expired(99.9)
    assert "a" in ids and len(ids) == 1
    ids.forget_expired(100.0)
    assert "a" not in ids and len(ids) == 0


def test_remembering_an_id_again_moves_its_time_instead_of_keeping_the_first():
    ids = ExpiringIds(10)
    ids.remember("a", 100.0)
    ids.remember("b", 150.0)
    ids.remember("a", 200.0)
    ids.forget_expired(160.0)
    assert "a" in ids and "b" not in ids
    assert [key for _, key, _ in ids] == ["a"]


def test_beyond_the_bound_the_id_remembered_longest_ago_goes_first_and_is_counted():
    evicted = []
    ids = ExpiringIds(3, on_evict=lambda: evicted.append(1))
    for n, key in enumerate("abcde"):
        ids.remember(key, 1000.0 + n)
    assert [key for _, key, _ in ids] == ["c", "d", "e"]
    assert len(evicted) == 2


def test_an_id_remembered_again_is_not_evicted_by_its_own_older_entry():
    evicted = []
    ids = ExpiringIds(2, on_evict=lambda: evicted.append(1))
    ids.remember("a", 10.0)
    ids.remember("b", 11.0)
    ids.remember("a", 12.0)  # a moves behind b
    ids.remember("c", 13.0)  # the bound: b goes, not a
    assert set(k for _, k, _ in ids) == {"a", "c"} and len(evicted) == 1


def test_values_are_kept_with_their_id_and_go_with_it():
    calls = ExpiringIds(10)
    calls.remember("c-1", 50.0, "grace")
    calls.remember("c-2", 60.0, "idle")
    assert calls.get("c-1") == "grace" and calls.get("c-2") == "idle" and calls.get("c-3") is None
    calls.forget_expired(55.0)
    assert calls.get("c-1") is None and calls.get("c-2") == "idle"
    assert calls.pop("c-2") == "idle" and "c-2" not in calls and len(calls) == 0


def test_entries_are_restored_in_order_without_those_already_past():
    ids = ExpiringIds(10)
    for n, key in enumerate("abc"):
        ids.remember(key, 100.0 + n, key.upper())
    again = ExpiringIds(10)
    again.restore(ids.entries(), now=100.5)
    assert again.entries() == [(101.0, "b", "B"), (102.0, "c", "C")]


def test_a_drained_table_is_compacted_and_keeps_working():
    ids = ExpiringIds(10 * COMPACT_ABOVE)
    for n in range(2 * COMPACT_ABOVE):
        ids.remember(f"id-{n}", float(n))
    ids.forget_expired(2 * COMPACT_ABOVE - 10.0)
    assert len(ids) == 9 and ids._peak == 9
    assert f"id-{2 * COMPACT_ABOVE - 1}" in ids


def test_stale_entries_of_ids_remembered_again_and_again_stay_bounded():
    ids = ExpiringIds(4)
    for n in range(100):
        ids.remember("same", float(n))
    assert len(ids._order) <= 8 and len(ids) == 1


def test_a_bound_below_one_is_refused():
    with pytest.raises(ValueError):
        ExpiringIds(0)


def test_ids_remembered_as_a_batch_are_kept_forgotten_and_bounded_as_if_remembered_one_by_one():
    evicted_batch, evicted_one = [], []
    batch = ExpiringIds(5, on_evict=lambda: evicted_batch.append(1))
    one_by_one = ExpiringIds(5, on_evict=lambda: evicted_one.append(1))
    batch.remember("old", 50.0, "value")
    one_by_one.remember("old", 50.0, "value")
    for keys, until in ((["a", "b", "old"], 100.0), (["c", "d", "e", "f"], 200.0)):
        batch.remember_all(keys, until)
        for key in keys:
            one_by_one.remember(key, until)
    assert batch.entries() == one_by_one.entries()
    assert batch.get("old") is None  # remembered again without a value: the old value goes
    assert len(evicted_batch) == len(evicted_one) == 2
    batch.forget_expired(150.0)
    assert sorted(key for _, key, _ in batch) == ["c", "d", "e", "f"]


def test_contains_answers_as_in_does():
    ids = ExpiringIds(10)
    ids.remember_all(["a", "b"], 100.0)
    contains = ids.contains
    assert contains("a") and contains("b") and not contains("c")
    assert ("a" in ids) and ("c" not in ids)


def test_the_ids_of_a_batch_are_queued_for_forgetting_as_one_entry():
    ids = ExpiringIds(1000)
    ids.remember_all([f"e-{i}" for i in range(100)], 10.0)
    ids.remember("one", 11.0)
    assert len(ids._order) == 2 and len(ids) == 101
    ids.forget_expired(10.0)
    assert len(ids._order) == 1 and "e-0" not in ids and "one" in ids
