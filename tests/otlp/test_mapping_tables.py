"""The mapping tables on the span shapes a text-mode session does not produce: LiveKit's spoken turn as 1.8 and 1.7
trace it (provider spellings, the turn latency and close reason 1.8 added), and the vendor names of each framework
normalised as the in-process adapters normalise them."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.otlp.spans import LIVEKIT_TURN, deadline, livekit_call, metric, send, served
from voice_monitoring.client.vendors import livekit_vendor, pipecat_service
from voice_monitoring.exporter.otlp.tables import livekit_span_vendor, pipecat_span_vendor


@pytest.mark.parametrize("version", ["1.8", "1.7"])
def test_a_livekit_spoken_turn_as_each_version_traces_it(version):
    t = LIVEKIT_TURN
    with deadline(20), served() as (exporter, url):
        assert send(url, livekit_call(version, interrupted=True)) == SpanExportResult.SUCCESS
        stt = metric(exporter, "ai_agent_component_latency_seconds_sum", component="stt", provider="deepgram")
        assert stt == pytest.approx(t["transcription_delay"])
        ttft = metric(exporter, "ai_agent_component_latency_seconds_sum", component="llm_ttft", provider="openai")
        assert ttft == pytest.approx(t["ttft"])
        ttfb = metric(exporter, "ai_agent_component_latency_seconds_sum", component="tts_ttfb", provider="cartesia")
        assert ttfb == pytest.approx(t["ttfb"])
        assert metric(exporter, "ai_agent_usage_total", provider="openai", unit="tokens_in") == t["tokens_in"]
        assert metric(exporter, "ai_agent_usage_total", provider="openai", unit="tokens_out") == t["tokens_out"]
        assert metric(exporter, "ai_agent_usage_total", provider="cartesia", unit="characters") == t["characters"]
        assert metric(exporter, "ai_agent_barge_in_events_total") == 1
        if version == "1.8":
            assert metric(exporter, "ai_agent_turns_total") == 1
            assert metric(exporter, "ai_agent_turn_response_seconds_sum") == pytest.approx(t["e2e"])
            endpointing = metric(exporter, "ai_agent_component_latency_seconds_sum", component="endpointing")
            assert endpointing == pytest.approx(t["end_of_turn_delay"])
            assert metric(exporter, "ai_agent_interrupted_turns_total") == 1
            assert metric(exporter, "ai_agent_calls_ended_total", reason="user_hangup") == 1
        else:  # no turn latency and no close reason before 1.8
            assert metric(exporter, "ai_agent_turns_total") == 0
            assert metric(exporter, "ai_agent_calls_ended_total", reason="other") == 1
        assert metric(exporter, "ai_agent_exporter_otlp_spans_unmapped_total") == 0


@pytest.mark.parametrize(
    "provider, model, expected",
    [
        ("livekit", "openai/gpt-4o-mini", ("openai", "gpt-4o-mini")),  # LiveKit Inference, any version
        ("openai", "gpt-4o-mini", ("openai", "gpt-4o-mini")),  # 1.8: the GenAI registry's spelling
        ("api.openai.com", "gpt-4o-mini", ("openai", "gpt-4o-mini")),  # 1.7: the plugin's base URL host
        ("gcp.gemini", "gemini-2.0-flash", ("google", "gemini-2.0-flash")),
        ("Google Cloud Platform", "gemini-2.0-flash", ("google", "gemini-2.0-flash")),
        ("aws.bedrock", "anthropic.claude-3", livekit_vendor("AWS Bedrock", "anthropic.claude-3")),
        ("x_ai", "grok-3", livekit_vendor("api.x.ai", "grok-3")),
        ("mistral_ai", "mistral-small", livekit_vendor("MistralAI", "mistral-small")),
        ("openai", "gpt-realtime", ("openai_realtime", "gpt-realtime")),
    ],
)
def test_livekit_span_vendors_are_the_adapters_vendors(provider, model, expected):
    attrs = {"gen_ai.provider.name": provider, "gen_ai.request.model": model}
    assert livekit_span_vendor("llm", attrs) == expected


@pytest.mark.parametrize(
    "service, provider, processor",
    [
        ("tts", "cartesiahttp", "CartesiaHttpTTSService#0"),
        ("tts", "elevenlabs", "ElevenLabsTTSService#0"),
        ("stt", "deepgramflux", "DeepgramFluxSTTService#0"),
        ("llm", "openai", "OpenAILLMService#0"),
        ("llm", "openairealtime", "OpenAIRealtimeLLMService#0"),
        ("llm", "gcp.gemini", "GoogleLLMService#0"),  # Pipecat writes the GenAI registry's name for some
        ("llm", "x_ai", "GrokLLMService#0"),
        ("tts", "awspolly", "AWSPollyTTSService#0"),
    ],
)
def test_pipecat_span_vendors_are_the_adapters_vendors(service, provider, processor):
    vendor, model = pipecat_span_vendor(service, {"gen_ai.provider.name": provider, "gen_ai.request.model": "m-1"})
    assert (vendor, model) == (pipecat_service(processor)[1], "m-1")
