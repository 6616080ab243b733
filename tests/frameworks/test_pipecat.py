"""The Pipecat observer on short real pipelines (real frames, Pipecat's own service base classes and metrics), into a
real exporter: one behaviour each. The whole call with audio over WebRTC is test_pipecat_webrtc.py."""

from __future__ import annotations

import logging

import pytest

from tests.client.exporter_metrics import exporter_value

pytestmark = pytest.mark.frameworks("pipecat")


def test_a_call_is_labelled_with_its_llm_vendor_from_its_start(exporter):
    from tests.frameworks.pipecat_call import RecordingClient, play_answered_question
    from voice_monitoring.client.pipecat import MonitoringObserver

    with RecordingClient(exporter.url) as client:
        play_answered_question(MonitoringObserver("pc-vendor", tenant="acme", client=client))
        assert client.flush(10)
    (_, started), *_ = client.of("call.started")
    assert started["provider"] == "openai"  # the pipeline's LLM, known before any of its metrics
    assert exporter_value(exporter.url, "ai_agent_calls_started_total", provider="openai", pipeline="pipecat") == 1
    assert exporter_value(exporter.url, "ai_agent_call_duration_seconds_count", provider="openai") == 1


def test_the_agent_and_its_version_label_every_event_of_the_call(exporter):
    from tests.frameworks.pipecat_call import RecordingClient, play_answered_question
    from voice_monitoring.client.pipecat import MonitoringObserver

    with RecordingClient(exporter.url) as client:
        play_answered_question(
            MonitoringObserver("pc-agent", tenant="acme", client=client, agent="booking", agent_version="v3")
        )
        assert client.flush(10)
    call_events = [envelope for _, _, envelope in client.sent if envelope.get("tenant")]
    assert call_events and {(e.get("agent"), e.get("agent_version")) for e in call_events} == {("booking", "v3")}
    labels = {"agent": "booking", "agent_version": "v3"}
    assert exporter_value(exporter.url, "ai_agent_agent_calls_started_total", **labels) == 1
    assert exporter_value(exporter.url, "ai_agent_agent_calls_ended_total", **labels) == 1


def test_services_are_labelled_with_the_vendor_the_price_table_names(exporter):
    from pipecat.metrics.metrics import TTSUsageMetricsData

    from tests.frameworks.pipecat_call import play_answered_question
    from tests.frameworks.pipecat_webrtc_call import TTS_NAME
    from voice_monitoring.client import EventClient
    from voice_monitoring.client.pipecat import MonitoringObserver

    with EventClient(exporter.url) as client:
        pipecat = play_answered_question(
            MonitoringObserver("pc-prices", tenant="acme", provider="openai", client=client)
        )
        assert client.flush(10)
    # CartesiaHttpTTSService is priced as cartesia: the price table's name, not its class name's
    characters = sum(i.value for i in pipecat.usage(TTSUsageMetricsData) if i.processor == TTS_NAME)
    assert characters > 0
    tts = {"service": "tts", "provider": "cartesia", "unit": "characters"}
    assert exporter_value(exporter.url, "ai_agent_usage_total", **tts) == characters
    assert exporter_value(exporter.url, "ai_agent_cost_usd_total", service="tts", provider="cartesia") > 0
    assert exporter_value(exporter.url, "ai_agent_usage_unpriced_total") == 0


def test_the_stt_usage_billed_as_the_pipeline_stops_comes_before_the_end_of_the_call(exporter):
    from pipecat.metrics.metrics import STTUsageMetricsData

    from tests.frameworks.pipecat_call import RecordingClient, play_answered_question
    from voice_monitoring.client.pipecat import MonitoringObserver

    with RecordingClient(exporter.url) as client:
        pipecat = play_answered_question(MonitoringObserver("pc-late", tenant="acme", client=client))
        assert client.flush(10)
    billed = [i.value.audio_seconds for i in pipecat.usage(STTUsageMetricsData)]
    assert len(billed) == 2  # at the final transcript, and the trailing silence as the STT stopped
    types = [t for t, _, _ in client.sent]
    assert max(i for i, t in enumerate(types) if t == "usage") < types.index("call.ended")
    stt = {"service": "stt", "provider": "deepgram", "unit": "audio_seconds"}
    assert exporter_value(exporter.url, "ai_agent_usage_total", **stt) == pytest.approx(sum(billed))
    # the call's final cost includes it: priced while the call was open
    assert exporter_value(exporter.url, "ai_agent_cost_usd_total", service="stt", provider="deepgram") > 0
    assert exporter_value(exporter.url, "ai_agent_call_cost_usd_sum") == pytest.approx(
        exporter_value(exporter.url, "ai_agent_cost_usd_total")
    )


def test_a_permanent_failure_ends_the_call_as_an_error_and_takes_the_provider_down(exporter):
    from tests.frameworks.pipecat_call import RecordingClient, play_permanent_failure
    from voice_monitoring.client.pipecat import MonitoringObserver

    with RecordingClient(exporter.url) as client:
        play_permanent_failure(MonitoringObserver("pc-broken", tenant="acme", client=client))
        assert client.flush(10)
    assert exporter_value(exporter.url, "ai_agent_calls_ended_total", reason="error") == 1
    assert exporter_value(exporter.url, "ai_agent_calls_ended_total", reason="user_hangup") == 0
    assert exporter_value(exporter.url, "ai_agent_errors_total", component="llm") == 1
    # Pipecat's breaker: the service was marked unusable
    assert [a["up"] for a, e in client.of("health") if e.get("provider") == "openai"] == [True, False]
    assert exporter_value(exporter.url, "ai_agent_provider_up", provider="openai", service="llm") == 0
    open_state = exporter_value(exporter.url, "ai_agent_circuit_breaker_state", breaker="openai_llm")
    assert open_state == 2  # open


def test_a_service_switcher_failover_is_provider_health_and_the_call_goes_on(exporter):
    from tests.frameworks.pipecat_call import RecordingClient, play_failover
    from voice_monitoring.client.pipecat import MonitoringObserver

    with RecordingClient(exporter.url) as client:
        play_failover(MonitoringObserver("pc-failover", tenant="acme", client=client))
        assert client.flush(10)
    # the switcher absorbed the failure: the agent ended the call, which did not fail
    assert [attrs["reason"] for attrs, _ in client.of("call.ended")] == ["agent_hangup"]
    health = [(envelope["provider"], attrs["up"]) for attrs, envelope in client.of("health") if "breaker" in attrs]
    assert health == [("openai", True), ("anthropic", True), ("openai", False)]
    assert exporter_value(exporter.url, "ai_agent_provider_up", provider="openai", service="llm") == 0
    assert exporter_value(exporter.url, "ai_agent_provider_up", provider="anthropic", service="llm") == 1
    assert exporter_value(exporter.url, "ai_agent_circuit_breaker_state", breaker="openai_llm") == 2  # open
    tokens = {"service": "llm", "provider": "anthropic", "unit": "tokens_out"}
    assert exporter_value(exporter.url, "ai_agent_usage_total", **tokens) > 0  # the backup answered


def test_a_tts_request_cut_before_its_first_byte_is_not_a_latency(exporter):
    from tests.frameworks.pipecat_call import play_cut_tts_request
    from tests.frameworks.pipecat_webrtc_call import TTS_NAME
    from voice_monitoring.client import EventClient
    from voice_monitoring.client.pipecat import MonitoringObserver

    with EventClient(exporter.url) as client:
        observer = MonitoringObserver("pc-cut-tts", tenant="acme", client=client)
        pipecat = play_cut_tts_request(observer)
        assert client.flush(10)
    measured = [v for v in pipecat.ttfb(TTS_NAME) if v > 0]
    assert len(pipecat.cut_tts_ttfb) == 1 and len(measured) == 2  # Pipecat reports the time to the cut as a TTFB
    assert observer.discarded_ttfb == 1
    tts = {"component": "tts_ttfb", "provider": "cartesia"}
    assert exporter_value(exporter.url, "ai_agent_component_latency_seconds_count", **tts) == 1
    kept = [v for v in measured if v not in pipecat.cut_tts_ttfb]
    assert exporter_value(exporter.url, "ai_agent_component_latency_seconds_sum", **tts) == pytest.approx(sum(kept))


def test_turns_are_counted_when_the_stt_detects_them_without_a_local_vad(exporter):
    """A WebRTC call whose STT detects the turns itself, as Deepgram Flux does (ExternalUserTurnStrategies, no VAD):
    Pipecat reports no VAD frames, only the user's turn start and stop around each final transcript."""
    from tests.frameworks import pipecat_webrtc_call as call
    from tests.frameworks.pipecat_call import RecordingClient
    from voice_monitoring.client.pipecat import MonitoringObserver

    with RecordingClient(exporter.url) as client:
        observer = MonitoringObserver("pc-flux", tenant="acme", client=client)
        script, replies = call.three_questions_script, call.SHORT_REPLIES
        result = call.play([observer], script=script, replies=replies, stt_turns=True)
        assert client.flush(10)
    pipecat = result.recorder
    assert result.notes == [] and pipecat.vad_frames == 0 and pipecat.transcripts == 3
    assert exporter_value(exporter.url, "ai_agent_turns_total", pipeline="pipecat") == 3
    # from the final transcript to the agent speaking: at least each reply's LLM and TTS time to first byte
    llm = [v for v in pipecat.ttfb(call.LLM_NAME) if v > 0]
    tts = [v for v in pipecat.ttfb(call.TTS_NAME) if v > 0][1:]  # the first is the greeting's
    assert len(llm) == len(tts) == 3
    ttfb = sum(llm) + sum(tts)
    assert ttfb <= exporter_value(exporter.url, "ai_agent_turn_response_seconds_sum") < ttfb + 3 * 0.3
    assert all("endpointing_seconds" not in attrs for attrs, _ in client.of("turn"))  # the STT's to know


def test_a_ttfb_cut_short_by_an_interruption_is_not_a_latency(exporter):
    """Pipecat reports the time to an interruption as the TTFB of the LLM request it cancels (pipecat#1682)."""
    from tests.frameworks.pipecat_call import ANSWER_DELAY, play_service
    from voice_monitoring.client import EventClient
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
    from voice_monitoring.client import EventClient
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


@pytest.mark.frameworks("pipecat", "livekit")
def test_a_livekit_rooms_statistics_give_the_call_its_transport_figures(exporter):
    """A Pipecat pipeline on LiveKit's transport: the room's statistics (real livekit.rtc protobufs from a stand-in
    room, since no LiveKit server runs here) read every report interval and at the end."""
    from tests.frameworks.livekit_fakes import StatsRoom
    from tests.frameworks.pipecat_call import RecordingClient, play_answered_question
    from voice_monitoring.client.pipecat import MonitoringObserver

    room = StatsRoom(rtt=0.09, jitter=0.015, loss=0.02, remote_loss=0.01)
    with RecordingClient(exporter.url) as client:
        observer = MonitoringObserver("pc-lk", tenant="acme", client=client, connection=room, report_interval=1.0)
        play_answered_question(observer)
        assert client.flush(10)
    readings = [attrs for attrs, _ in client.of("transport")]
    assert len(readings) >= 3  # every second and once at the end
    assert all(a["codec"] == "opus" and a["rtt_seconds"] == pytest.approx(room.rtt) for a in readings)
    assert max(a["packet_loss_ratio"] for a in readings) == pytest.approx(room.loss, abs=0.01)
    assert any(a.get("concealment_ratio", 0) > 0 for a in readings)
    assert exporter_value(exporter.url, "ai_agent_transport_rtt_seconds_count") == len(readings)


@pytest.mark.parametrize("prompt_net_of_cache", [False, True], ids=["gross-as-openai", "net-as-anthropic"])
def test_prompt_tokens_read_from_the_cache_are_counted_and_priced_apart(exporter, prompt_net_of_cache):
    """Pipecat's OpenAI services count the cache reads in ``prompt_tokens``; its Anthropic and Bedrock services count
    neither the reads nor the writes there (pipecat.metrics.metrics.LLMTokenUsage). Either way the reads are
    ``tokens_in_cached`` and ``tokens_in`` is the rest of the prompt, the cache writes included."""
    from pipecat.metrics.metrics import LLMUsageMetricsData

    from tests.frameworks.pipecat_call import BACKUP_LLM_NAME, play_cached_prompts
    from tests.frameworks.pipecat_webrtc_call import LLM_MODEL, LLM_NAME, SHORT_REPLIES, ScriptedLLM
    from voice_monitoring.client import EventClient
    from voice_monitoring.client.pipecat import MonitoringObserver
    from voice_monitoring.exporter.pricing import PriceTable

    name, provider = (BACKUP_LLM_NAME, "anthropic") if prompt_net_of_cache else (LLM_NAME, "openai")
    llm = ScriptedLLM(SHORT_REPLIES, name=name, prompt_net_of_cache=prompt_net_of_cache)
    with EventClient(exporter.url) as client:
        pipecat = play_cached_prompts(MonitoringObserver("pc-cache", tenant="acme", client=client), llm)
        assert client.flush(10)
    usages = [i.value for i in pipecat.usage(LLMUsageMetricsData)]
    cached = sum(u.cache_read_input_tokens for u in usages)
    if prompt_net_of_cache:
        uncached = sum(u.prompt_tokens + u.cache_creation_input_tokens for u in usages)
    else:
        uncached = sum(u.prompt_tokens - u.cache_read_input_tokens for u in usages)
    completion = sum(u.completion_tokens for u in usages)
    assert len(usages) == 3 and cached > 0 and uncached > 0
    quantities = {"tokens_in": uncached, "tokens_in_cached": cached, "tokens_out": completion}
    for unit, quantity in quantities.items():
        assert exporter_value(exporter.url, "ai_agent_usage_total", service="llm", provider=provider, unit=unit) == (
            quantity
        ), unit
    prices = PriceTable.default()
    usd = sum(prices.price("llm", provider, LLM_MODEL, unit, quantity) for unit, quantity in quantities.items())
    spent = exporter_value(exporter.url, "ai_agent_cost_usd_total", tenant="acme", service="llm", provider=provider)
    assert spent == pytest.approx(usd, rel=1e-6)
