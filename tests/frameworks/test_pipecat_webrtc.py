"""Pipecat calls with audio over a real WebRTC connection (SmallWebRTC, aiortc on both ends, loopback), measured by
the observer into the stack as shipped: exporter, Prometheus with its rules, scorer. Three calls of one fleet are
played once for the module: one the agent fails (its LLM is rejected for good, its greeting stalls), one over an
impaired network path, then the main call. Each test reads one part and checks it against what Pipecat itself
reported (its MetricsFrames and ErrorFrames) or what the connection measured, never against the fakes' settings."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import pytest
import requests

from tests.frameworks.stack_checks import settled
from tests.harness import query, wait_for

pytestmark = [pytest.mark.frameworks("pipecat"), pytest.mark.binaries]
CALL_ID = "pc-webrtc"
FAILED_CALL_ID, IMPAIRED_CALL_ID = "pc-failed", "pc-impaired"
# the impaired path: one-way delay (seconds) and share of RTP packets dropped, each way
PATH_DELAY, PATH_LOSS = 0.15, 0.05


@dataclass
class Played:
    stack: object
    client: object  # the RecordingClient: every event the observer sent, in order
    observer: object
    result: object  # pipecat_webrtc_call.CallResult: what Pipecat reported
    relay: object  # the impaired call's network path
    failed: object  # the RecordingClient of the failed call
    before: float  # a moment between the earlier calls and the main one

    @property
    def prom(self) -> str:
        return self.stack.prometheus.url

    def now(self, expr: str) -> float:
        return sum(float(r["value"][1]) for r in query(self.prom, expr))

    def total(self, expr: str) -> float:
        """What the call added to a fleet counter: its value now less its value before the call."""
        return self.now(expr) - sum(float(r["value"][1]) for r in query(self.prom, expr, at=self.before))

    def scored(self, call_id: str = CALL_ID) -> dict:
        def final():
            response = requests.get(f"{self.stack.scorer.url}/calls/{call_id}", timeout=5)
            answer = response.json() if response.status_code == 200 else None
            ready = answer and answer["ended"] and answer["score"] is not None and answer.get("emodel")
            return answer if ready else None

        return wait_for(final, 60, interval=0.5, what=f"a final score and an E-model estimate of {call_id}")


@pytest.fixture(scope="module")
def played(tmp_path_factory):
    from tests.dashboards.panel_coverage import monitoring_stack
    from tests.frameworks import pipecat_webrtc_call as call
    from tests.frameworks.pipecat_call import RecordingClient
    from tests.frameworks.pipecat_udp_relay import UdpRelay
    from voice_monitoring.client.pipecat import MonitoringObserver

    with monitoring_stack(tmp_path_factory.mktemp("pipecat")) as stack:
        # the fleet's earlier calls (rates over the fleet's counters need a value before the main call's):
        # one the agent fails, its LLM rejected for good at the first question, its greeting's synthesis stalling
        with RecordingClient(stack.exporter.url) as failed:
            observer = MonitoringObserver(FAILED_CALL_ID, tenant="acme", client=failed, report_interval=2.0)
            script = call.unanswered_call_script
            assert call.play([observer], script=script, llm_rejected_at=0, tts_stall="help").notes == []
            assert failed.flush(10)
        # three questions over a path that delays every packet and drops a share of the audio, each way
        relay = UdpRelay(delay=PATH_DELAY, loss=PATH_LOSS)
        with RecordingClient(stack.exporter.url) as impaired:
            observer = MonitoringObserver(IMPAIRED_CALL_ID, tenant="acme", client=impaired, report_interval=2.0)
            script = call.three_questions_script
            assert call.play([observer], script=script, replies=call.SHORT_REPLIES, relay=relay).notes == []
            assert impaired.flush(10)
        for call_id in (FAILED_CALL_ID, IMPAIRED_CALL_ID):
            settled(stack, f'ai_agent_call_ended{{call_id="{call_id}"}}', 1)
        time.sleep(1.5)  # a scrape after the earlier calls' end
        before = time.time()
        with RecordingClient(stack.exporter.url) as client:
            observer = MonitoringObserver(CALL_ID, tenant="acme", client=client, report_interval=2.0)
            result = call.play([observer])
            assert client.flush(10)
            stats = client.stats()
        assert stats["rejected"] == 0 and sum(stats["dropped"].values()) == 0, stats
        assert result.notes == [] and 8 < result.seconds < 20, (result.notes, result.seconds)
        settled(stack, f'ai_agent_call_ended{{call_id="{CALL_ID}"}}', 1)
        yield Played(stack, client, observer, result, relay, failed, before)


def test_the_call_fills_every_voice_panel_pipecat_can_fill(played):
    """First, while the windows of the panels' rates still hold the call."""
    from tests.dashboards.panel_coverage import assert_panel_coverage, empty_voice_panels

    played.scored()
    # the recording rules and the scorer's final score settle within a few evaluations
    previous, deadline = None, time.time() + 20
    while time.time() < deadline:
        empty = set(empty_voice_panels(played.prom, CALL_ID))
        if empty == previous:
            break
        previous = empty
        time.sleep(3)
    assert_panel_coverage("pipecat", played.prom, CALL_ID)


def test_the_call_is_labelled_with_its_llm_vendor_and_webrtc_from_its_start(played):
    assert [attrs for attrs, _ in played.client.of("call.started")] == [{"transport": "webrtc"}]
    assert played.total('ai_agent_calls_ended_total{tenant="acme", provider="openai", reason="user_hangup"}') == 1
    assert played.total('ai_agent_calls_started_total{provider="openai", pipeline="pipecat"}') == 1
    assert played.total('ai_agent_call_duration_seconds_count{provider="openai"}') == 1
    assert played.total('ai_agent_calls_started_total{provider="unknown"}') == 0


def test_the_last_usage_precedes_the_end_and_every_usage_is_priced_under_its_vendor(played):
    from pipecat.metrics.metrics import LLMUsageMetricsData, STTUsageMetricsData, TTSUsageMetricsData

    from tests.frameworks import pipecat_webrtc_call as call
    from voice_monitoring.exporter.pricing import PriceTable

    client, pipecat = played.client, played.result.recorder
    types = [t for t, _, _ in client.sent]
    # the STT bills the last of the caller's audio as the pipeline stops: that usage still precedes call.ended
    assert max(i for i, t in enumerate(types) if t == "usage") < types.index("call.ended")
    stt_seconds = sum(i.value.audio_seconds for i in pipecat.usage(STTUsageMetricsData))
    assert sum(a["quantity"] for a, _ in client.of("usage") if a["service"] == "stt") == pytest.approx(stt_seconds)

    prices = PriceTable.default()
    tts_characters = sum(i.value for i in pipecat.usage(TTSUsageMetricsData))
    llm = pipecat.usage(LLMUsageMetricsData)
    # an OpenAI service's prompt_tokens include the tokens read from the cache, priced apart
    tokens_cached = sum(i.value.cache_read_input_tokens for i in llm)
    tokens_in = sum(i.value.prompt_tokens for i in llm) - tokens_cached
    tokens_out = sum(i.value.completion_tokens for i in llm)
    for service, provider, model, parts in (
        ("stt", "deepgram", call.STT_MODEL, (("audio_seconds", stt_seconds),)),
        ("tts", "cartesia", call.TTS_MODEL, (("characters", tts_characters),)),
        (
            "llm",
            "openai",
            call.LLM_MODEL,
            (("tokens_in", tokens_in), ("tokens_in_cached", tokens_cached), ("tokens_out", tokens_out)),
        ),
    ):
        for unit, quantity in parts:
            selector = f'{{service="{service}", provider="{provider}", unit="{unit}"}}'
            assert quantity > 0 and played.total(f"ai_agent_usage_total{selector}") == pytest.approx(quantity)
        usd = sum(prices.price(service, provider, model, unit, quantity) for unit, quantity in parts)
        selector = f'{{tenant="acme", service="{service}", provider="{provider}"}}'
        assert usd > 0 and played.total(f"ai_agent_cost_usd_total{selector}") == pytest.approx(usd), selector
    assert played.total("ai_agent_usage_unpriced_total") == 0


def test_latencies_are_pipecats_less_the_tts_request_the_caller_cut_before_its_first_byte(played):
    from tests.frameworks import pipecat_webrtc_call as call

    pipecat = played.result.recorder
    assert len(pipecat.cut_tts_ttfb) == 1 and played.observer.discarded_ttfb == 1
    for component, provider, values in (
        ("stt", "deepgram", pipecat.ttfb(call.STT_NAME)),
        ("llm_ttft", "openai", pipecat.ttfb(call.LLM_NAME)),
        ("tts_ttfb", "cartesia", [v for v in pipecat.ttfb(call.TTS_NAME) if v not in pipecat.cut_tts_ttfb]),
    ):
        values = [v for v in values if v > 0]  # Pipecat's zeros at the start are its "not measured yet"
        selector = f'{{component="{component}", provider="{provider}"}}'
        assert values and played.total(f"ai_agent_component_latency_seconds_count{selector}") == len(values)
        assert played.total(f"ai_agent_component_latency_seconds_sum{selector}") == pytest.approx(sum(values))


def test_turns_barge_ins_a_false_interruption_and_stt_to_tts_latency(played):
    # three answered turns (the barge-in and the "hello?" that cut the slow reply make one)
    assert played.total('ai_agent_turns_total{pipeline="pipecat", provider="openai"}') == 3
    turns = [attrs for attrs, _ in played.client.of("turn")]
    for turn in turns:
        # caller silence to agent speech, through the STT's final transcript and the first TTS audio
        assert 0 < turn["endpointing_seconds"] < turn["latency_seconds"] < 3
        assert 0 < turn["stt_to_tts_seconds"] < turn["latency_seconds"]
        assert turn["agent_speech_seconds"] > 0  # sent once the agent stopped speaking
    # the caller barged into the second reply, and coughed into the last
    assert [turn["interrupted"] for turn in turns] == [False, True, True]
    assert played.total("ai_agent_stt_to_tts_seconds_count") == 3
    assert played.total('ai_agent_interrupted_turns_total{provider="openai"}') == 2
    assert played.total('ai_agent_barge_in_events_total{provider="openai"}') == 2
    assert 0 < played.total("ai_agent_barge_in_reaction_seconds_sum") < 2
    # the cough: a user turn that cut the agent off with no words in it (Pipecat's empty user turn)
    assert [attrs["kind"] for attrs, _ in played.client.of("interruption")] == [
        "barge_in",
        "barge_in",
        "false_interruption",
    ]
    assert played.total('ai_agent_false_interruptions_total{provider="openai"}') == 1


def test_audio_levels_underruns_and_sample_rate_alignment_come_from_the_audio(played):
    levels = [attrs for attrs, _ in played.client.of("audio") if "rms" in attrs]
    assert {attrs["stage"] for attrs in levels} == {"caller_in", "agent_out"}
    assert max(attrs["rms"] for attrs in levels if attrs["stage"] == "agent_out") > 0.01
    assert max(attrs["rms"] for attrs in levels if attrs["stage"] == "caller_in") > 0.01
    depths = [attrs["jitter_buffer_depth"] for attrs in levels if "jitter_buffer_depth" in attrs]
    assert depths and all(depth >= 0 for depth in depths)  # 20-ms frames handed on and not yet played
    assert played.total("ai_agent_stream_underflow_events_total") == 0
    # the failed call's greeting stalled mid-synthesis: its playout ran dry
    assert sum(attrs.get("underflow", 0) for attrs, _ in played.failed.of("audio")) == 1
    assert played.now(f'ai_agent_call_underflow_events{{call_id="{FAILED_CALL_ID}"}}') == 1
    assert played.total('ai_agent_codec_checks_total{result="aligned"}') == 2


def test_the_connections_statistics_give_the_call_its_transport_figures_and_an_mos(played):
    transport = [attrs for attrs, _ in played.client.of("transport")]
    assert transport and all(attrs.get("codec") == "opus" for attrs in transport)
    assert any("rtt_seconds" in attrs for attrs in transport) and all("jitter_seconds" in a for a in transport)
    assert sum(attrs.get("bytes_rx", 0) for attrs in transport) > 20_000  # the caller's Opus audio
    verdict = played.scored()
    assert 4.0 < verdict["emodel"]["mos"] <= 4.5 and math.isfinite(verdict["emodel"]["r_factor"])
    assert verdict["codec"] == "opus"
    assert query(played.prom, f'ai_agent_call_mos_estimate{{call_id="{CALL_ID}"}} > 4')


def test_over_an_impaired_path_the_mos_moves_as_g107_predicts_for_its_loss_and_delay(played):
    from voice_monitoring.scorer.emodel import Transport, estimate

    relay = played.relay
    for direction, media in relay.media.items():  # the path did drop its share of the audio each way
        assert media > 200 and relay.dropped[direction] / media == pytest.approx(PATH_LOSS, abs=0.005)
    clean, impaired = played.scored(CALL_ID), played.scored(IMPAIRED_CALL_ID)
    inputs = impaired["inputs"]
    # what the connection measured on the path: its round trip, and the loss of the audio
    assert inputs["ai_agent_call_transport_rtt_seconds"] == pytest.approx(2 * PATH_DELAY, abs=0.02)
    assert inputs["ai_agent_call_transport_packet_loss_ratio"] == pytest.approx(PATH_LOSS, abs=0.025)
    # G.107 for the path as built (Opus, that delay, that loss) against the call's MOS from its measured statistics
    path = Transport(rtt_seconds=2 * PATH_DELAY, jitter_seconds=0.0, packet_loss_ratio=PATH_LOSS, codec="opus")
    predicted = estimate(path)
    assert impaired["emodel"]["codec"] == "opus"
    assert impaired["emodel"]["mos"] == pytest.approx(predicted.mos, abs=0.3)
    assert clean["emodel"]["mos"] - impaired["emodel"]["mos"] > 0.5


def test_a_service_rejected_for_good_ends_its_call_as_an_error_and_takes_its_provider_down(played):
    assert [attrs["reason"] for attrs, _ in played.failed.of("call.ended")] == ["error"]
    health = [(attrs["service"], attrs["up"]) for attrs, envelope in played.failed.of("health") if "breaker" in attrs]
    assert ("llm", False) in health
    assert played.now('ai_agent_calls_ended_total{reason="error", provider="openai"}') == 1


def test_errors_and_provider_health_are_pipecats(played):
    errors = played.result.recorder.errors
    assert len(errors) == 1 and errors[0].category.value == "rate_limit"
    assert played.total('ai_agent_errors_total{component="llm", kind="rate_limit"}') == 1
    assert played.total('ai_agent_provider_requests_total{provider="openai", service="llm", status="error"}') == 1
    for provider in ("deepgram", "openai", "cartesia"):
        assert played.now(f'ai_agent_provider_up{{provider="{provider}"}}') == 1
