"""A Pipecat call with audio over a real WebRTC connection (SmallWebRTC, aiortc on both ends, loopback), measured by
the observer into the shipped stack: exporter, Prometheus with its rules, scorer. Every figure is checked against
what Pipecat itself reported (its MetricsFrames) or the connection measured, never against the fakes' settings."""

from __future__ import annotations

import math

import pytest

from tests.frameworks.stack_checks import settled
from tests.harness import query, wait_for
from voice_monitoring.exporter.pricing import PriceTable

pytestmark = [pytest.mark.frameworks("pipecat"), pytest.mark.binaries]
CALL_ID = "pc-webrtc"


def total(prometheus_url: str, expr: str) -> float:
    return sum(float(r["value"][1]) for r in query(prometheus_url, expr))


def test_a_webrtc_call_with_audio_is_measured_in_full(tmp_path):
    from pipecat.metrics.metrics import LLMUsageMetricsData, STTUsageMetricsData, TTSUsageMetricsData

    from tests.dashboards.panel_coverage import assert_panel_coverage, monitoring_stack
    from tests.frameworks import pipecat_webrtc_call as call
    from tests.frameworks.pipecat_call import RecordingClient
    from voice_monitoring.client.pipecat import MonitoringObserver

    with monitoring_stack(tmp_path) as stack:
        prom = stack.prometheus.url
        with RecordingClient(stack.exporter.url) as client:
            observer = MonitoringObserver(CALL_ID, tenant="acme", client=client, report_interval=2.0)
            result = call.play([observer])
            assert client.flush(10)
            stats = client.stats()
        assert stats["rejected"] == 0 and sum(stats["dropped"].values()) == 0, stats
        assert result.notes == [] and 8 < result.seconds < 20, (result.notes, result.seconds)
        pipecat = result.recorder

        # the call's last usage (the STT's flush as the pipeline stops) precedes its end
        types = [t for t, _, _ in client.sent]
        assert "call.ended" in types
        assert max(i for i, t in enumerate(types) if t == "usage") < types.index("call.ended")
        stt_seconds = sum(i.value.audio_seconds for i in pipecat.usage(STTUsageMetricsData))
        sent_stt = sum(a["quantity"] for a, _ in client.of("usage") if a["service"] == "stt")
        assert sent_stt == pytest.approx(stt_seconds)

        # the call is labelled with its LLM's vendor from call.started on
        settled(stack, 'ai_agent_calls_ended_total{tenant="acme", provider="openai", reason="user_hangup"}', 1)
        assert total(prom, 'ai_agent_calls_started_total{provider="openai", pipeline="pipecat"}') == 1
        assert total(prom, 'ai_agent_call_duration_seconds_count{provider="openai"}') == 1
        assert total(prom, 'ai_agent_calls_started_total{provider="unknown"}') == 0

        # usage under the vendors the price table names, priced from it
        prices = PriceTable.default()
        tts_characters = sum(i.value for i in pipecat.usage(TTSUsageMetricsData))
        llm = pipecat.usage(LLMUsageMetricsData)
        tokens_in, tokens_out = sum(i.value.prompt_tokens for i in llm), sum(i.value.completion_tokens for i in llm)
        for service, provider, unit, quantity in (
            ("stt", "deepgram", "audio_seconds", stt_seconds),
            ("tts", "cartesia", "characters", tts_characters),
            ("llm", "openai", "tokens_in", tokens_in),
            ("llm", "openai", "tokens_out", tokens_out),
        ):
            selector = f'{{service="{service}", provider="{provider}", unit="{unit}"}}'
            assert total(prom, f"ai_agent_usage_total{selector}") == pytest.approx(quantity), selector
        for service, provider, model, parts in (
            ("stt", "deepgram", call.STT_MODEL, (("audio_seconds", stt_seconds),)),
            ("tts", "cartesia", call.TTS_MODEL, (("characters", tts_characters),)),
            ("llm", "openai", call.LLM_MODEL, (("tokens_in", tokens_in), ("tokens_out", tokens_out))),
        ):
            usd = sum(prices.price(service, provider, model, unit, quantity) for unit, quantity in parts)
            selector = f'{{tenant="acme", service="{service}", provider="{provider}"}}'
            assert usd > 0 and total(prom, f"ai_agent_cost_usd_total{selector}") == pytest.approx(usd), selector
        assert total(prom, "ai_agent_usage_unpriced_total") == 0

        # latencies as Pipecat measured them (its zeros at the start are its "not measured yet"), less the TTFB of
        # the TTS request the caller cut before its first byte
        assert len(pipecat.cut_tts_ttfb) == 1 and observer.discarded_ttfb == 1
        for component, provider, values in (
            ("stt", "deepgram", pipecat.ttfb(call.STT_NAME)),
            ("llm_ttft", "openai", pipecat.ttfb(call.LLM_NAME)),
            ("tts_ttfb", "cartesia", [v for v in pipecat.ttfb(call.TTS_NAME) if v not in pipecat.cut_tts_ttfb]),
        ):
            values = [v for v in values if v > 0]
            selector = f'{{component="{component}", provider="{provider}"}}'
            assert values and total(prom, f"ai_agent_component_latency_seconds_count{selector}") == len(values)
            assert total(prom, f"ai_agent_component_latency_seconds_sum{selector}") == pytest.approx(sum(values))

        # three answered turns (the barge-in and the "hello?" that cut the slow reply make one), one barge-in
        assert total(prom, 'ai_agent_turns_total{pipeline="pipecat", provider="openai"}') == 3
        sent_turns = [a for a, _ in client.of("turn")]
        for turn in sent_turns:
            # each turn: caller silence to agent speech, through the STT's final transcript and the first TTS audio
            assert 0 < turn["endpointing_seconds"] < turn["latency_seconds"] < 3
            assert 0 < turn["stt_to_tts_seconds"] < turn["latency_seconds"]
        assert total(prom, "ai_agent_stt_to_tts_seconds_count") == 3
        assert total(prom, 'ai_agent_barge_in_events_total{provider="openai"}') == 1
        assert 0 < total(prom, "ai_agent_barge_in_reaction_seconds_sum") < 1

        # audio: both stages' levels, the stalled TTS reply's playout underrun, sample rates aligned
        levels = [a for a, _ in client.of("audio") if "rms" in a]
        assert {a["stage"] for a in levels} == {"caller_in", "agent_out"}
        assert max(a["rms"] for a in levels if a["stage"] == "agent_out") > 0.01
        assert total(prom, "ai_agent_stream_underflow_events_total") >= 1
        assert total(prom, 'ai_agent_codec_checks_total{result="aligned"}') == 2

        # the WebRTC connection's own statistics, and the scorer's E-model on them
        transport = [a for a, _ in client.of("transport")]
        assert transport and all(a.get("codec") == "opus" for a in transport)
        assert any("rtt_seconds" in a for a in transport) and all("jitter_seconds" in a for a in transport)
        assert sum(a.get("bytes_rx", 0) for a in transport) > 20_000

        def mos():
            answer = stack_call(stack, CALL_ID)
            return answer if answer and answer.get("emodel") and answer["ended"] else None

        verdict = wait_for(mos, 60, interval=0.5, what=f"an E-model estimate of {CALL_ID}")
        assert 4.0 < verdict["emodel"]["mos"] <= 4.5 and math.isfinite(verdict["emodel"]["r_factor"])
        assert query(prom, f'ai_agent_call_mos_estimate{{call_id="{CALL_ID}"}} > 4')

        # health: each service's provider up, its breaker closed
        for provider in ("deepgram", "openai", "cartesia"):
            assert total(prom, f'ai_agent_provider_up{{provider="{provider}"}}') == 1

        assert_panel_coverage("pipecat", prom, CALL_ID)


def stack_call(stack, call_id: str) -> dict | None:
    import requests

    response = requests.get(f"{stack.scorer.url}/calls/{call_id}", timeout=5)
    return response.json() if response.status_code == 200 else None
