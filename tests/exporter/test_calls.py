"""One call's running aggregates (``exporter/calls.py``): bounded latency samples, the RMS spread, usage and cost,
and the cached text of its labels."""

from __future__ import annotations

import math
import random
import statistics

from prometheus_client.parser import text_string_to_metric_families

from voice_monitoring.exporter.calls import MAX_SAMPLES, Call


def fresh(call_id: str = "c-1") -> Call:
    return Call(call_id, "acme", "deepgram", "cascade", now=100.0)


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def test_turn_latencies_stay_ascending_and_within_the_bound_while_every_turn_is_counted():
    call = fresh()
    latencies = [random.Random(7).uniform(0.1, 4.0) for _ in range(5 * MAX_SAMPLES + 3)]
    for latency in latencies:
        call.add_turn(latency)
        assert len(call.turn_latencies) <= MAX_SAMPLES
    assert call.turns == len(latencies)
    assert call.turn_latencies == sorted(call.turn_latencies)
    assert len(call.turn_latencies) >= MAX_SAMPLES // 2, "halving keeps half, not fewer"


def test_halving_the_samples_keeps_their_quantiles():
    rng = random.Random(11)
    latencies = [rng.lognormvariate(-0.5, 0.6) for _ in range(20_000)]
    call = fresh()
    for latency in latencies:
        call.add_turn(latency)
    kept = call.turn_latencies
    for q in (0.5, 0.9, 0.95):
        exact = nearest_rank(latencies, q)
        assert abs(nearest_rank(kept, q) - exact) / exact < 0.05, q


def test_reactions_are_bounded_like_turn_latencies_and_count_no_turn():
    call = fresh()
    for i in range(MAX_SAMPLES + 1):
        call.add_reaction(i / 1000)
    assert len(call.reactions) <= MAX_SAMPLES and call.reactions == sorted(call.reactions)
    assert call.turns == 0 and call.turn_latencies == []


def test_the_rms_spread_is_the_sample_deviation_of_the_levels_in_db_and_silence_floors_at_minus_100_db():
    rms_values = [0.5, 0.02, 0.1, 0.0, 0.3, 1e-7]
    call = fresh()
    for rms in rms_values:
        call.add_rms(rms)
    levels = [20 * math.log10(max(r, 1e-5)) for r in rms_values]
    assert call.rms_n == len(rms_values)
    assert math.isclose(call.rms_mean, statistics.fmean(levels))
    assert math.isclose(call.rms_m2 / (call.rms_n - 1), statistics.variance(levels))
    assert min(levels) == -100.0


def test_priced_usage_merges_per_service_and_provider_and_sums_the_estimate_per_service():
    call = fresh()
    call.add_usage("stt", "deepgram", "audio_seconds", 60, 0.01)
    call.add_usage("stt", "deepgram", "audio_seconds", 30, 0.005)
    call.add_usage("stt", "assemblyai", "audio_seconds", 60, 0.02)
    call.add_usage("llm", "openai", "input_tokens", 1000, 0.25)
    assert call.usage == {
        ("stt", "deepgram"): [0.015, 2],
        ("stt", "assemblyai"): [0.02, 1],
        ("llm", "openai"): [0.25, 1],
    }
    assert call.estimated_cost == {"stt": 0.035, "llm": 0.25}
    assert call.unpriced == []


def test_unpriced_usage_merges_per_service_provider_and_unit_and_costs_nothing():
    call = fresh()
    call.add_usage("tts", "acme-voice", "characters", 100, None)
    call.add_usage("tts", "acme-voice", "characters", 50, None)
    call.add_usage("tts", "acme-voice", "audio_seconds", 5, None)
    call.add_usage("tts", "other-voice", "characters", 7, None)
    assert call.unpriced == [
        ["tts", "acme-voice", "characters", 150],
        ["tts", "acme-voice", "audio_seconds", 5],
        ["tts", "other-voice", "characters", 7],
    ]
    assert call.usage == {} and call.estimated_cost == {} and call.running_cost() == 0


def test_a_free_price_is_priced_usage_not_unpriced():
    call = fresh()
    call.add_usage("llm", "local", "input_tokens", 500, 0.0)
    assert call.usage == {("llm", "local"): [0.0, 1]} and call.unpriced == []


def test_the_running_cost_takes_a_services_reported_cost_over_its_estimate():
    call = fresh()
    call.add_usage("llm", "openai", "input_tokens", 1000, 0.5)
    call.add_usage("stt", "deepgram", "audio_seconds", 60, 0.2)
    assert math.isclose(call.running_cost(), 0.7)
    call.reported_cost["llm"] = 1.25
    assert math.isclose(call.running_cost(), 1.45)
    call.reported_cost["tts"] = 0.05  # reported without any usage
    assert math.isclose(call.running_cost(), 1.5)


def parsed_labels(text: str) -> dict[str, str]:
    family = next(text_string_to_metric_families(f"m{{{text}}} 1\n"))
    return family.samples[0].labels


def test_label_text_is_escaped_once_and_reused_until_provider_or_tenant_changes():
    call = Call('c-"1"\\\n', "acme", "deepgram", "cascade", now=0.0)
    first = call.label_text()
    assert parsed_labels(first) == {"call_id": 'c-"1"\\\n', "provider": "deepgram", "tenant": "acme"}
    assert call.label_text() is first
    call.pipeline = "s2s"  # not a per-call label
    assert call.label_text() is first
    call.provider = "openai"
    assert parsed_labels(call.label_text())["provider"] == "openai"
    call.tenant = "globex"
    assert parsed_labels(call.label_text()) == {"call_id": 'c-"1"\\\n', "provider": "openai", "tenant": "globex"}
