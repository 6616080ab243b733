"""The Pipecat observer on real frames through a real pipeline, into a real exporter, Prometheus and scorer."""

from __future__ import annotations

import logging

import pytest

from tests.client.exporter_metrics import exporter_value
from tests.frameworks.stack_checks import scored, settled, value
from tests.harness import query
from voice_monitoring.client import EventClient

pytestmark = [pytest.mark.frameworks("pipecat"), pytest.mark.binaries]


def test_a_pipecat_call_reaches_every_metric_and_the_scorer(stack):
    from tests.frameworks.pipecat_call import STOP_SECS, TURN_PAUSE, play
    from voice_monitoring.client.pipecat import MonitoringObserver

    with EventClient(stack.exporter.url) as client:
        observer = MonitoringObserver("pc-1", tenant="acme", client=client)
        play(observer)
        assert client.flush(10)
        stats = client.stats()
    assert stats["rejected"] == 0 and sum(stats["dropped"].values()) == 0, stats
    assert observer.discarded_ttfb == 1

    call = '{pipeline="pipecat", provider="openai"}'
    settled(stack, f"ai_agent_turns_total{call}", 3)
    mean = value(stack, f"ai_agent_turn_response_seconds_sum{call}") / 3
    assert STOP_SECS + TURN_PAUSE <= mean < STOP_SECS + TURN_PAUSE + 0.5
    # each component once per turn; the TTFB of the LLM request the barge-in cut short is not among them
    for component, provider, total in (
        ("stt", "deepgram", 0.45),
        ("llm_ttft", "openai", 1.35),
        ("tts_ttfb", "cartesia", 0.36),
    ):
        selector = f'{{component="{component}", provider="{provider}"}}'
        assert value(stack, f"ai_agent_component_latency_seconds_count{selector}") == 3
        assert value(stack, f"ai_agent_component_latency_seconds_sum{selector}") == pytest.approx(total)
    for service, provider, unit, quantity in (
        ("llm", "openai", "tokens_in", 2400),
        ("llm", "openai", "tokens_out", 120),
        ("tts", "cartesia", "characters", 360),
        ("stt", "deepgram", "audio_seconds", 7.5),
    ):
        labels = f'{{service="{service}", provider="{provider}", unit="{unit}"}}'
        assert value(stack, f"ai_agent_usage_total{labels}") == pytest.approx(quantity)
    # priced from the default table when the call ended: openai/gpt-4o-mini, cartesia, deepgram
    settled(stack, 'ai_agent_cost_usd_total{tenant="acme", provider="cartesia", service="tts"}', 0.36 * 0.038)
    cost = value(stack, 'ai_agent_cost_usd_total{tenant="acme", provider="openai", service="llm"}')
    assert cost == pytest.approx(2.4 * 0.00015 + 0.12 * 0.0006)
    assert value(stack, 'ai_agent_calls_started_total{tenant="acme", pipeline="pipecat"}') == 1
    assert value(stack, 'ai_agent_calls_ended_total{tenant="acme", reason="agent_hangup"}') == 1
    assert value(stack, 'ai_agent_barge_in_events_total{provider="openai"}') == 1
    reaction = value(stack, "ai_agent_barge_in_reaction_seconds_sum")
    assert 0.2 < reaction < 1.0
    assert value(stack, 'ai_agent_errors_total{component="pipeline", kind="rate_limit"}') == 1
    assert query(stack.prometheus.url, 'ai_agent_call_ended{call_id="pc-1"} == 1')

    verdict = scored(stack, "pc-1")
    assert 0 < verdict["score"] <= 100
    assert verdict["inputs"]["ai_agent_call_turns"] == 3


def test_a_ttfb_cut_short_by_an_interruption_is_not_a_latency(exporter):
    """Pipecat reports the time to an interruption as the TTFB of the request it cancels (pipecat#1682)."""
    from tests.frameworks.pipecat_call import ANSWER_DELAY, play_service
    from voice_monitoring.client.pipecat import MonitoringObserver

    with EventClient(exporter.url) as client:
        observer = MonitoringObserver("pc-cut", tenant="acme", client=client)
        play_service(observer)
        assert client.flush(10)
    assert observer.discarded_ttfb == 1
    llm = {"component": "llm_ttft", "provider": "scripted"}
    assert exporter_value(exporter.url, "ai_agent_component_latency_seconds_count", **llm) == 1
    assert ANSWER_DELAY <= exporter_value(exporter.url, "ai_agent_component_latency_seconds_sum", **llm) < 1.0
    tokens = {"service": "llm", "provider": "scripted", "unit": "tokens_in"}
    assert exporter_value(exporter.url, "ai_agent_usage_total", **tokens) == 100


def test_with_metrics_off_pipecat_reports_no_latency_and_the_observer_says_why(exporter, caplog):
    from tests.frameworks.pipecat_call import play_service
    from voice_monitoring.client.pipecat import MonitoringObserver

    caplog.set_level(logging.WARNING, "voice_monitoring.client.pipecat")
    with EventClient(exporter.url) as client:
        play_service(MonitoringObserver("pc-dark", tenant="acme", client=client), metrics_on=False)
        assert client.flush(10)
    assert exporter_value(exporter.url, "ai_agent_component_latency_seconds_count") == 0
    assert exporter_value(exporter.url, "ai_agent_calls_started_total") == 1
    warnings = [r.getMessage() for r in caplog.records if r.name == "voice_monitoring.client.pipecat"]
    assert warnings == [
        "PipelineParams(enable_metrics=True, enable_usage_metrics=True) is off: "
        "the exporter gets no latencies and no usage or cost from this pipeline"
    ]
