"""The LiveKit adapter on a real AgentSession, into a real exporter, Prometheus and scorer."""

from __future__ import annotations

import pytest

from tests.frameworks.stack_checks import scored, settled, value
from tests.harness import query
from voice_monitoring.client import EventClient

pytestmark = [pytest.mark.frameworks("livekit"), pytest.mark.binaries]


def test_a_livekit_session_reaches_every_metric_and_the_scorer(stack):
    from tests.frameworks import livekit_call as lk

    with EventClient(stack.exporter.url) as client:
        lk.play("lk-1", "acme", client)
        assert client.flush(10)
        stats = client.stats()
    assert stats["rejected"] == 0 and sum(stats["dropped"].values()) == 0, stats

    turns = lk.AUDIO_TURNS
    call = '{pipeline="livekit", provider="openai"}'
    settled(stack, f"ai_agent_turns_total{call}", len(turns))
    assert value(stack, f"ai_agent_turn_response_seconds_sum{call}") == pytest.approx(sum(t[0] for t in turns))
    assert value(stack, f"ai_agent_interrupted_turns_total{call}") == 1
    # text-mode replies have an LLM time to first token but no end-to-end latency: components, not turns
    for component, provider, count, total in (
        ("stt", "deepgram", 3, sum(t[3] for t in turns)),
        ("tts_ttfb", "cartesia", 3, sum(t[2] for t in turns)),
        ("endpointing", "openai", 3, sum(t[4] for t in turns)),
    ):
        selector = f'{{component="{component}", provider="{provider}"}}'
        assert value(stack, f"ai_agent_component_latency_seconds_count{selector}") == count
        assert value(stack, f"ai_agent_component_latency_seconds_sum{selector}") == pytest.approx(total)
    llm = '{component="llm_ttft", provider="openai"}'
    assert value(stack, f"ai_agent_component_latency_seconds_count{llm}") == lk.TEXT_TURNS + len(turns)
    tokens_in = '{service="llm", provider="openai", unit="tokens_in"}'
    assert value(stack, f"ai_agent_usage_total{tokens_in}") == lk.TEXT_TURNS * lk.PROMPT_TOKENS
    tokens_out = '{service="llm", provider="openai", unit="tokens_out"}'
    assert value(stack, f"ai_agent_usage_total{tokens_out}") == lk.TEXT_TURNS * lk.COMPLETION_TOKENS
    # priced from the default table (openai/gpt-4o-mini) when the call ended
    expected_cost = lk.TEXT_TURNS * (lk.PROMPT_TOKENS * 0.00015 + lk.COMPLETION_TOKENS * 0.0006) / 1000
    settled(stack, 'ai_agent_cost_usd_total{tenant="acme", provider="openai", service="llm"}', expected_cost)
    assert value(stack, 'ai_agent_calls_started_total{tenant="acme", pipeline="livekit"}') == 1
    assert value(stack, 'ai_agent_calls_ended_total{tenant="acme", reason="agent_hangup"}') == 1
    assert value(stack, 'ai_agent_barge_in_events_total{provider="openai"}') == 1
    assert value(stack, "ai_agent_barge_in_reaction_seconds_sum") == pytest.approx(lk.BARGE_IN_REACTION)
    assert value(stack, 'ai_agent_false_interruptions_total{provider="openai"}') == 1
    assert value(stack, 'ai_agent_errors_total{component="llm", kind="rate_limited"}') == 1
    assert value(stack, 'ai_agent_provider_requests_total{provider="openai", service="llm", status="error"}') == 1
    assert query(stack.prometheus.url, 'ai_agent_call_ended{call_id="lk-1"} == 1')

    verdict = scored(stack, "lk-1")
    assert 0 < verdict["score"] <= 100
    assert verdict["inputs"]["ai_agent_call_turns"] == len(turns)
