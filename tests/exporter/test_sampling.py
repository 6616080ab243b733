"""Which calls get per-call series (``exporter/sampling.py``): the sample by call id, the gates, and the counts of
calls exposed, withheld and promoted."""

from __future__ import annotations

import math
from hashlib import blake2b

import pytest

from voice_monitoring.exporter.calls import Call
from voice_monitoring.exporter.sampling import (
    PROMOTE_P95_SECONDS,
    PerCallSampling,
    breaches_gate,
    in_sample,
)


def call(call_id: str, latencies: tuple[float, ...] = (), underflows: int = 0) -> Call:
    made = Call(call_id, "acme", "deepgram", "cascade", now=0.0)
    for latency in latencies:
        made.add_turn(latency)
    made.underflows = underflows
    return made


def hash_fraction(call_id: str) -> float:
    """The call's place in [0, 1) by the formula the module documents."""
    return int.from_bytes(blake2b(call_id.encode(), digest_size=8).digest(), "big") / 2**64


@pytest.mark.parametrize("call_id", ["c-1", "7f9a2c1e-0000-4b7e-9d1b-3c2a", "é-unicode-☎"])
def test_a_call_is_in_the_sample_exactly_when_its_documented_hash_falls_below_the_ratio(call_id):
    at = hash_fraction(call_id)
    assert in_sample(call_id, at * (1 + 1e-9))
    assert not in_sample(call_id, at * (1 - 1e-9))


@pytest.mark.parametrize("ratio", [0.01, 0.25, 0.5, 0.9])
def test_the_sample_holds_the_ratio_of_many_calls_within_four_standard_deviations(ratio):
    n = 40_000
    chosen = sum(in_sample(f"call-{i}", ratio) for i in range(n))
    assert abs(chosen - ratio * n) <= 4 * math.sqrt(n * ratio * (1 - ratio))


def test_a_ratio_of_1_or_more_takes_every_call_and_0_or_less_none():
    ids = [f"x-{i}" for i in range(500)]
    assert all(in_sample(i, 1.0) and in_sample(i, 1.5) for i in ids)
    assert not any(in_sample(i, 0.0) or in_sample(i, -0.5) for i in ids)


def test_a_call_breaches_a_gate_by_one_underflow_or_a_p95_above_the_gate_not_at_it():
    fast = PROMOTE_P95_SECONDS / 2
    assert not breaches_gate(call("quiet"))
    assert breaches_gate(call("underflow", underflows=1))
    assert not breaches_gate(call("at-gate", (PROMOTE_P95_SECONDS,) * 3))
    assert breaches_gate(call("above", (math.nextafter(PROMOTE_P95_SECONDS, 10.0),)))
    # nearest rank over 20 turns: the 19th; one slow turn in 20 is not the p95, two are
    assert not breaches_gate(call("one-slow", (fast,) * 19 + (PROMOTE_P95_SECONDS * 2,)))
    assert breaches_gate(call("two-slow", (fast,) * 18 + (PROMOTE_P95_SECONDS * 2,) * 2))


def sampled_and_not(ratio: float, count: int) -> tuple[list[str], list[str]]:
    ids = [f"s-{i}" for i in range(400)]
    inside = [i for i in ids if in_sample(i, ratio)][:count]
    outside = [i for i in ids if not in_sample(i, ratio)][:count]
    return inside, outside


def test_a_scrape_exposes_the_sample_plus_the_breaching_calls_and_counts_the_rest_withheld():
    sampling = PerCallSampling(0.3)
    inside, outside = sampled_and_not(0.3, 3)
    slow = (PROMOTE_P95_SECONDS * 2,)
    calls = [call(inside[0]), call(inside[1], slow), call(outside[0]), call(outside[1], slow), call(outside[2])]
    exposed = list(sampling.exposed(calls))
    assert [c.call_id for c in exposed] == [inside[0], inside[1], outside[1]]
    assert (sampling.withheld, sampling.promoted) == (2, 1)
    assert [c.promoted for c in calls] == [False, False, False, True, False], "a sampled call is never promoted"


def test_a_call_once_exposed_stays_exposed_and_is_promoted_once():
    sampling = PerCallSampling(0.0)
    slow = call("slow", (PROMOTE_P95_SECONDS * 2,))
    assert list(sampling.exposed([slow])) == [slow] and sampling.promoted == 1
    slow.turn_latencies = [0.1] * 50  # its p95 recovers: it breaches no gate now
    assert not breaches_gate(slow)
    assert list(sampling.exposed([slow])) == [slow]
    assert list(PerCallSampling(0.0).exposed([slow])) == [slow], "the decision is the call's, not the sampler's"
    assert (sampling.promoted, sampling.withheld) == (1, 0)


def test_withheld_is_the_count_of_the_last_scrape_not_a_running_total():
    sampling = PerCallSampling(0.0)
    quiet = [call(f"q-{i}") for i in range(4)]
    assert list(sampling.exposed(quiet)) == []
    assert sampling.withheld == 4
    assert list(sampling.exposed(quiet[:1])) == []
    assert sampling.withheld == 1


def test_a_sample_decided_once_does_not_change_with_the_ratio_of_a_later_sampler():
    inside, outside = sampled_and_not(0.5, 1)
    calls = [call(inside[0]), call(outside[0])]
    assert [c.call_id for c in PerCallSampling(0.5).exposed(calls)] == inside
    assert [c.call_id for c in PerCallSampling(1.0).exposed(calls)] == inside
    assert [c.exposed for c in calls] == [True, False]


@pytest.mark.parametrize("ratio", [-0.01, 1.01, float("nan"), float("inf")])
def test_a_ratio_outside_0_to_1_is_refused_with_the_ratio(ratio):
    with pytest.raises(ValueError, match="between 0 and 1"):
        PerCallSampling(ratio)


@pytest.mark.parametrize("ratio", [0.0, 1.0])
def test_the_ends_of_the_range_are_accepted(ratio):
    assert PerCallSampling(ratio).ratio == ratio
