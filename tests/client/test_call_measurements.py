"""CallReporter's measurement events against a real exporter: audio, transport and provider health."""

from __future__ import annotations

import pytest

from tests.client.exporter_metrics import exporter_value
from voice_monitoring.client import EventClient, worker_health
from voice_monitoring.client.call import AUDIO_ATTRS, TRANSPORT_ATTRS, CallReporter
from voice_monitoring.exporter import events


@pytest.fixture(autouse=True)
def no_worker_health(monkeypatch):
    """These tests count the events of calls: the worker health ticker's would blur the count."""
    monkeypatch.setattr(worker_health, "_ticker", worker_health.WorkerHealth(interval=0))


def started_call(client: EventClient, call_id: str, provider: str = "openai") -> CallReporter:
    call = CallReporter(client, call_id=call_id, tenant="acme", provider=provider)
    call.start("webrtc")
    return call


def test_the_clients_measurement_attributes_are_the_event_schemas():
    for spec, etype in ((AUDIO_ATTRS, "audio"), (TRANSPORT_ATTRS, "transport")):
        schema = events.TYPES[etype]
        for key, (kind, low, high) in spec.items():
            assert key in schema, f"{etype}.{key} is not in the event schema"
            field = schema[key]
            assert (field.kind, field.minimum, field.maximum) == (kind, low, high), f"{etype}.{key}"
        unfilled = set(schema) - set(spec) - {"stage"}
        assert not unfilled, f"{etype} attributes the client cannot send: {unfilled}"


def test_audio_events_reach_the_exporter_and_odd_values_cost_only_themselves(exporter):
    with EventClient(exporter.url) as client:
        call = started_call(client, "audio-1")
        call.audio({"stage": "caller_in", "rms": 0.125, "dc_offset": -0.03, "clipping_ratio": 0.002})
        call.audio({"stage": "agent_out", "rms": 0.25, "underflow": 2, "codec_alignment": False})
        # unusable values are left out, the rest of the event still goes
        call.audio({"stage": "agent_out", "rms": float("nan"), "dc_offset": 1.5, "underflow": 3, "unknown": 1})
        call.audio({"stage": "nowhere", "rms": 0.5, "underflow": -1})
        call.audio({"rms": "loud", "clipping_ratio": 2.0})  # nothing usable: no event
        call.audio(None)
        call.end("user hung up")
        call.audio({"stage": "agent_out", "underflow": 7})  # after the end: dropped
        assert client.flush(10)
        stats = client.stats()
    assert stats["rejected"] == 0 and sum(stats["dropped"].values()) == 0
    assert stats["sent"] == 2 + 4  # call.started, call.ended and four audio events
    url = exporter.url
    assert exporter_value(url, "ai_agent_audio_rms", stage="caller_in") == 0.125
    assert exporter_value(url, "ai_agent_audio_dc_offset", stage="caller_in") == -0.03
    assert exporter_value(url, "ai_agent_audio_clipping_ratio", stage="caller_in") == 0.002
    # the event with an unknown stage counts as agent_out, the exporter's default
    assert exporter_value(url, "ai_agent_audio_rms", stage="agent_out") == 0.5
    assert exporter_value(url, "ai_agent_stream_underflow_events_total", provider="openai") == 2 + 3
    assert exporter_value(url, "ai_agent_codec_checks_total", provider="openai", result="misaligned") == 1


def test_transport_events_reach_the_exporter_and_odd_values_cost_only_themselves(exporter):
    np = pytest.importorskip("numpy")
    with EventClient(exporter.url) as client:
        call = started_call(client, "transport-1", provider="deepgram")
        call.transport(
            {
                "rtt_seconds": 0.08,
                "jitter_seconds": np.float64(0.012),
                "packet_loss_ratio": 0.01,
                "concealment_ratio": 0.02,
                "codec": "OPUS",
                "bytes_rx": np.int64(16000),
                "bytes_tx": 12000,
            }
        )
        call.transport({"rtt_seconds": 15.0, "jitter_seconds": -1, "packet_loss_ratio": 0.03, "bytes_rx": 1.5})
        call.transport({"connection_lost": True, "burst_ratio": 0.5})
        call.transport({"bytes_tx": True})  # a bool is not a count: no event
        call.end("user hung up")
        assert client.flush(10)
        stats = client.stats()
    assert stats["rejected"] == 0 and stats["sent"] == 2 + 3
    url = exporter.url
    assert exporter_value(url, "ai_agent_transport_rtt_seconds_count", provider="deepgram") == 1
    assert exporter_value(url, "ai_agent_transport_rtt_seconds_sum", provider="deepgram") == 0.08
    assert exporter_value(url, "ai_agent_transport_jitter_seconds_sum", provider="deepgram") == 0.012
    assert exporter_value(url, "ai_agent_transport_packet_loss_ratio_count", provider="deepgram") == 2
    assert exporter_value(url, "ai_agent_transport_packet_loss_ratio_sum", provider="deepgram") == pytest.approx(0.04)
    assert exporter_value(url, "ai_agent_transport_concealment_ratio_sum", provider="deepgram") == 0.02
    assert exporter_value(url, "ai_agent_audio_bytes_total", provider="deepgram", direction="rx") == 16000
    assert exporter_value(url, "ai_agent_audio_bytes_total", provider="deepgram", direction="tx") == 12000
    assert exporter_value(url, "ai_agent_transport_connection_losses_total", provider="deepgram") == 1


def test_provider_health_sets_provider_up_and_the_breaker(exporter):
    with EventClient(exporter.url) as client:
        call = started_call(client, "health-1")
        call.provider_health("stt", "Deepgram", False, breaker="stt_fallback")
        call.provider_health("tts", "cartesia", True)
        call.provider_health("speech", "cartesia", True)  # not a service: nothing sent
        call.provider_health("llm", None, True)  # no provider: nothing sent
        assert client.flush(10)
        url = exporter.url
        assert exporter_value(url, "ai_agent_provider_up", provider="deepgram", service="stt") == 0
        assert exporter_value(url, "ai_agent_provider_up", provider="cartesia", service="tts") == 1
        assert exporter_value(url, "ai_agent_circuit_breaker_state", breaker="stt_fallback") == 2  # open
        call.provider_health("stt", "deepgram", True, breaker="stt_fallback")
        assert client.flush(10)
        assert exporter_value(url, "ai_agent_provider_up", provider="deepgram", service="stt") == 1
        assert exporter_value(url, "ai_agent_circuit_breaker_state", breaker="stt_fallback") == 0  # closed
        assert client.stats()["rejected"] == 0 and client.stats()["sent"] == 4
