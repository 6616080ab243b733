"""What a platform's report carries beyond an engine's events: the raw end reason on the call's own series, a
turn p95 the platform computed, retrieval and speech-to-speech latencies, and prompt tokens read from a cache."""

import pytest

from tests.exporter.call_events import ended, started
from tests.exporter.clocked_exporter import Clock, make
from tests.exporter.exposition_samples import samples, value
from voice_monitoring.exporter import state_file
from voice_monitoring.exporter.pricing import PriceTable

CALL = {"call_id": "c-1", "provider": "deepgram", "tenant": "acme"}
END_REASON = "ai_agent_call_end_reason_info"
TURN_RESPONSE_P95 = "ai_agent_call_turn_response_p95_seconds"


def end_reasons(exporter, call_id="c-1") -> list[str]:
    return [
        dict(labels)["reason"]
        for (name, labels), v in samples(exporter).items()
        if name == END_REASON and ("call_id", call_id) in labels and v == 1
    ]


def fleet_reasons(exporter) -> set[str]:
    return {dict(labels)["reason"] for (name, labels) in samples(exporter) if name == "ai_agent_calls_ended_total"}


@pytest.mark.parametrize(
    "raw",
    [
        "customer-ended-call",
        "pipeline-error-openai-llm-failed",
        'call.in-progress.error-vapifault-"quoted"\\slash',
        "Anrufer hat aufgelegt – ☎",
        "two\nlines",
        "x" * 128,
    ],
)
def test_the_raw_end_reason_is_on_the_calls_own_series_once_it_ended_and_never_a_fleet_label(raw):
    clock = Clock()
    exporter = make(clock)
    exporter.ingest([started(clock)])
    assert end_reasons(exporter) == []
    assert exporter.ingest([ended(clock, reason=raw)])[0] == 1
    assert end_reasons(exporter) == [raw]
    assert raw not in fleet_reasons(exporter) and len(fleet_reasons(exporter)) == 1
    clock.now += 121
    exporter.sweep()
    assert end_reasons(exporter) == []


def test_the_raw_end_reason_survives_a_restart_in_the_grace_period(tmp_path):
    clock = Clock()
    before = make(clock)
    before.ingest([started(clock), ended(clock, reason="silence-timed-out")])
    path = tmp_path / "state.sqlite"
    assert state_file.save(before, path) == 1
    after = make(clock)
    assert state_file.restore(after, path) == 1
    assert end_reasons(after) == ["silence-timed-out"]


def ended_with_p95(clock, p95, call_id="c-1"):
    event = ended(clock, call_id=call_id, reason="agent_hangup")
    event["attrs"]["turn_p95_seconds"] = p95
    return event


def test_a_platforms_p95_fills_the_per_call_p95_of_a_call_without_turns_and_creates_no_turns():
    clock = Clock()
    exporter = make(clock)
    exporter.ingest([started(clock)])
    assert value(exporter, TURN_RESPONSE_P95, **CALL) is None
    assert exporter.ingest([ended_with_p95(clock, 1.85)])[0] == 1
    assert value(exporter, TURN_RESPONSE_P95, **CALL) == 1.85
    assert value(exporter, "ai_agent_call_turns", **CALL) == 0
    fleet = {"pipeline": "cascade", "provider": "deepgram"}
    assert value(exporter, "ai_agent_turn_response_seconds_count", **fleet) is None
    assert value(exporter, "ai_agent_turns_total", **fleet) is None


def test_a_call_with_turns_of_its_own_keeps_their_p95_over_the_platforms():
    clock = Clock()
    exporter = make(clock)
    turns = [
        {"type": "turn", "ts": clock.now, "call_id": "c-1", "attrs": {"latency_seconds": s}} for s in (0.5, 0.7, 0.9)
    ]
    exporter.ingest([started(clock), *turns, ended_with_p95(clock, 3.0)])
    assert value(exporter, TURN_RESPONSE_P95, **CALL) == 0.9


@pytest.mark.parametrize("p95", [-0.1, 3600.5, "1.2", True])
def test_a_platforms_p95_out_of_range_is_refused_with_the_event(p95):
    clock = Clock()
    exporter = make(clock)
    exporter.ingest([started(clock)])
    accepted, _, rejected = exporter.ingest([ended_with_p95(clock, p95)])
    assert accepted == 0 and "turn_p95_seconds" in rejected[0]["error"]


@pytest.mark.parametrize("component", ["knowledge_base", "s2s"])
def test_retrieval_and_speech_to_speech_latencies_are_components_of_the_llm_service(component):
    clock = Clock()
    exporter = make(clock)
    latency = {
        "type": "latency",
        "ts": clock.now,
        "call_id": "c-1",
        "provider": "retell",
        "attrs": {"component": component, "seconds": 0.31},
    }
    assert exporter.ingest([started(clock), latency, latency])[0] == 3
    histogram = {"component": component, "provider": "retell"}
    assert value(exporter, "ai_agent_component_latency_seconds_count", **histogram) == 2
    assert value(exporter, "ai_agent_component_latency_seconds_sum", **histogram) == pytest.approx(0.62)
    requests = {"provider": "retell", "service": "llm", "status": "ok"}
    assert value(exporter, "ai_agent_provider_requests_total", **requests) == 2


def cached_usage(clock, model, quantity, provider="openai"):
    return {
        "type": "usage",
        "ts": clock.now,
        "call_id": "c-1",
        "provider": provider,
        "model": model,
        "attrs": {"service": "llm", "unit": "tokens_in_cached", "quantity": quantity},
    }


def test_cached_prompt_tokens_are_counted_apart_and_priced_at_the_cached_price():
    clock = Clock()
    exporter = make(clock)
    exporter.ingest([started(clock), cached_usage(clock, "gpt-4o", 40_000), ended(clock)])
    llm = {"provider": "openai", "service": "llm"}
    assert value(exporter, "ai_agent_usage_total", unit="tokens_in_cached", **llm) == 40_000
    assert value(exporter, "ai_agent_usage_total", unit="tokens_in", **llm) is None
    table = PriceTable.default()._table["llm"]["openai/gpt-4o"]
    assert table["tokens_in_cached"] < table["tokens_in"]
    booked = value(exporter, "ai_agent_cost_usd_total", tenant="acme", **llm)
    assert booked == pytest.approx(40 * table["tokens_in_cached"])


def test_a_row_without_a_cached_price_prices_cached_tokens_as_uncached_ones(tmp_path):
    path = tmp_path / "prices.yaml"
    path.write_text("llm:\n  acme_llm: {tokens_in: 0.004, tokens_out: 0.01}\n  acme_llm/small: {tokens_in: 0.001}\n")
    prices = PriceTable.load(path)
    assert prices.price("llm", "acme_llm", None, "tokens_in_cached", 2000) == pytest.approx(0.008)
    # the most specific row that prices input wins: the model's own, not its vendor's
    assert prices.price("llm", "acme_llm", "small", "tokens_in_cached", 2000) == pytest.approx(0.002)
    assert prices.price("llm", "unlisted", None, "tokens_in_cached", 2000) is None


def test_an_operators_cached_price_is_used_and_must_be_a_price(tmp_path):
    path = tmp_path / "prices.yaml"
    path.write_text("llm:\n  acme_llm: {tokens_in: 0.004, tokens_in_cached: 0.0004}\n")
    assert PriceTable.load(path).price("llm", "acme_llm", None, "tokens_in_cached", 1000) == pytest.approx(0.0004)
    path.write_text("llm:\n  acme_llm: {tokens_in: 0.004, tokens_in_cached: -1}\n")
    with pytest.raises(ValueError, match="tokens_in_cached"):
        PriceTable.load(path)


def test_cached_tokens_of_a_call_whose_llm_reported_its_cost_are_not_priced_again():
    clock = Clock()
    exporter = make(clock)
    cost = {
        "type": "cost",
        "ts": clock.now,
        "call_id": "c-1",
        "provider": "openai",
        "attrs": {"service": "llm", "usd": 0.02},
    }
    exporter.ingest([started(clock), cached_usage(clock, "gpt-4o", 40_000), cost, ended(clock)])
    assert value(exporter, "ai_agent_cost_usd_total", tenant="acme", provider="openai", service="llm") == 0.02
