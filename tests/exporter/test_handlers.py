"""Each event handler's effect on the fleet metrics and on its call (``exporter/handlers.py``), for what the
behaviour tests of the call's life, its cost and its per-call values leave out."""

from __future__ import annotations

from tests.exporter.call_events import ended, started
from tests.exporter.clocked_exporter import Clock, make
from tests.exporter.exposition_samples import value
from voice_monitoring.exporter.events import BREAKER_STATES


def event(clock: Clock, etype: str, call_id: str | None = "c-1", **attrs) -> dict:
    made = {"type": etype, "ts": clock.now, "attrs": attrs}
    if call_id is not None:
        made["call_id"] = call_id
    return made


def applied(exporter, *events: dict) -> None:
    accepted, duplicates, rejected = exporter.ingest(list(events))
    assert (accepted, duplicates, rejected) == (len(events), 0, [])


def test_a_state_change_moves_the_call_from_one_conversation_state_to_the_next():
    clock = Clock()
    exporter = make(clock)
    applied(exporter, started(clock, "c-1"), started(clock, "c-2"), event(clock, "state", "c-2", state="listening"))
    applied(exporter, event(clock, "state", state="listening"))
    assert value(exporter, "ai_agent_conversation_state", state="listening") == 2
    applied(exporter, event(clock, "state", state="speaking"), event(clock, "state", state="speaking"))
    assert value(exporter, "ai_agent_conversation_state", state="listening") == 1
    assert value(exporter, "ai_agent_conversation_state", state="speaking") == 1
    assert exporter.registry.calls["c-1"].state == "speaking"


def test_gating_and_capture_count_each_call_once_however_often_it_repeats_them():
    clock = Clock()
    exporter = make(clock)
    applied(exporter, started(clock))
    applied(exporter, *[event(clock, "state", tts_gating=True, audio_capture=True)] * 3)
    assert value(exporter, "ai_agent_tts_gating_active") == 1
    assert value(exporter, "ai_agent_audio_capture_enabled") == 1
    applied(exporter, event(clock, "state", tts_gating=False), event(clock, "state", tts_gating=False))
    assert value(exporter, "ai_agent_tts_gating_active") == 0
    assert value(exporter, "ai_agent_audio_capture_enabled") == 1


def test_a_state_event_after_the_end_leaves_the_live_gauges_alone():
    clock = Clock()
    exporter = make(clock)
    applied(exporter, started(clock), event(clock, "state", state="speaking"), ended(clock))
    applied(exporter, event(clock, "state", state="listening", tts_gating=True, audio_capture=True))
    assert value(exporter, "ai_agent_conversation_state", state="listening") in (None, 0)
    assert value(exporter, "ai_agent_conversation_state", state="speaking") == 0
    assert value(exporter, "ai_agent_tts_gating_active") == 0
    assert value(exporter, "ai_agent_audio_capture_enabled") == 0
    assert exporter.registry.calls["c-1"].state is None


def test_an_analysis_takes_the_labels_of_a_tracked_call_and_never_creates_one():
    clock = Clock()
    exporter = make(clock)
    applied(
        exporter,
        started(clock),
        event(clock, "analysis", successful=True, sentiment="positive"),
        event(clock, "analysis", "never-seen", successful=False),
        {**event(clock, "analysis", "other", sentiment="negative"), "tenant": "globex", "provider": "retell"},
    )
    outcome = {"successful": "true", "sentiment": "positive", "tenant": "acme", "provider": "deepgram"}
    assert value(exporter, "ai_agent_call_analyses_total", **outcome) == 1
    unknown = {"successful": "false", "sentiment": "unknown", "tenant": "unknown", "provider": "unknown"}
    assert value(exporter, "ai_agent_call_analyses_total", **unknown) == 1
    envelope = {"successful": "unknown", "sentiment": "negative", "tenant": "globex", "provider": "retell"}
    assert value(exporter, "ai_agent_call_analyses_total", **envelope) == 1
    assert set(exporter.registry.calls) == {"c-1"}


def test_an_error_of_a_provider_request_counts_the_request_as_timed_out_or_failed():
    clock = Clock()
    exporter = make(clock)
    applied(
        exporter,
        started(clock),
        event(clock, "error", component="stt", kind="read_timeout", service="stt"),
        event(clock, "error", component="stt", kind="http_5xx", service="stt"),
        event(clock, "error", component="stt", kind="http_5xx", service="stt"),
        event(clock, "error", None, component="scheduler", kind="crash"),
    )
    requests = {"provider": "deepgram", "service": "stt"}
    assert value(exporter, "ai_agent_provider_requests_total", status="timeout", **requests) == 1
    assert value(exporter, "ai_agent_provider_requests_total", status="error", **requests) == 2
    assert value(exporter, "ai_agent_errors_total", component="stt", kind="http_5xx") == 2
    assert value(exporter, "ai_agent_errors_total", component="scheduler", kind="crash") == 1
    assert (
        value(exporter, "ai_agent_provider_requests_total", provider="unknown", service="stt", status="error") is None
    )


def test_error_labels_are_folded_beyond_the_label_limit():
    clock = Clock()
    exporter = make(clock, label_values=2)
    applied(exporter, *[event(clock, "error", None, component="stt", kind=f"kind-{i}") for i in range(4)])
    assert value(exporter, "ai_agent_errors_total", component="stt", kind="kind-1") == 1
    assert value(exporter, "ai_agent_errors_total", component="stt", kind="other") == 2


def test_a_latency_is_a_request_to_its_components_service_unless_the_event_names_one():
    clock = Clock()
    exporter = make(clock)
    applied(
        exporter,
        started(clock),
        event(clock, "latency", component="endpointing", seconds=0.2),
        event(clock, "latency", component="network", seconds=0.05),
        event(clock, "latency", component="llm_ttft", seconds=4.0, service="platform", status="timeout"),
    )
    assert value(exporter, "ai_agent_provider_requests_total", provider="deepgram", service="stt", status="ok") == 1
    assert (
        value(exporter, "ai_agent_provider_requests_total", provider="deepgram", service="transport", status="ok") == 1
    )
    assert (
        value(exporter, "ai_agent_provider_requests_total", provider="deepgram", service="platform", status="timeout")
        == 1
    )
    assert value(exporter, "ai_agent_component_latency_seconds_count", component="network", provider="deepgram") == 1


def test_transport_counts_bytes_per_direction_and_lost_connections_and_the_call_keeps_what_a_report_omits():
    clock = Clock()
    exporter = make(clock)
    applied(
        exporter,
        started(clock),
        event(clock, "transport", rtt_seconds=0.2, jitter_seconds=0.03, bytes_rx=1000, bytes_tx=0),
        event(clock, "transport", packet_loss_ratio=0.01, bytes_rx=500, connection_lost=True),
        event(clock, "transport", connection_lost=False, burst_ratio=2.0),
    )
    assert value(exporter, "ai_agent_audio_bytes_total", provider="deepgram", direction="rx") == 1500
    assert value(exporter, "ai_agent_audio_bytes_total", provider="deepgram", direction="tx") is None
    assert value(exporter, "ai_agent_transport_connection_losses_total", provider="deepgram") == 1
    call = exporter.registry.calls["c-1"]
    assert (call.rtt, call.jitter, call.loss, call.burst) == (0.2, 0.03, 0.01, 2.0)


def test_a_transport_codec_is_folded_like_any_label():
    clock = Clock()
    exporter = make(clock, label_values=1)
    applied(exporter, started(clock, "c-1"), started(clock, "c-2"))
    applied(exporter, event(clock, "transport", "c-1", codec="opus"), event(clock, "transport", "c-2", codec="pcmu"))
    assert [exporter.registry.calls[c].codec for c in ("c-1", "c-2")] == ["opus", "other"]


def test_a_false_interruption_counts_on_the_fleet_and_the_call_and_a_barge_in_without_reaction_has_no_reaction():
    clock = Clock()
    exporter = make(clock)
    applied(
        exporter,
        started(clock),
        event(clock, "interruption", kind="false_interruption"),
        event(clock, "interruption", kind="false_interruption"),
        event(clock, "interruption", kind="barge_in"),
    )
    call = exporter.registry.calls["c-1"]
    assert (call.false_interruptions, call.barge_ins, call.reactions) == (2, 1, [])
    assert value(exporter, "ai_agent_false_interruptions_total", provider="deepgram") == 2
    assert value(exporter, "ai_agent_barge_in_events_total", provider="deepgram") == 1
    assert value(exporter, "ai_agent_barge_in_reaction_seconds_count", provider="deepgram") is None


def test_only_the_agents_own_audio_makes_the_calls_level_spread():
    clock = Clock()
    exporter = make(clock)
    applied(
        exporter,
        started(clock),
        event(clock, "audio", stage="caller_in", rms=0.5),
        event(clock, "audio", stage="stt_in", rms=0.001),
        event(clock, "audio", stage="tts_out", rms=0.1),
        event(clock, "audio", rms=0.2),  # agent_out when no stage is named
    )
    call = exporter.registry.calls["c-1"]
    assert call.rms_n == 2
    assert value(exporter, "ai_agent_audio_rms", stage="caller_in") == 0.5
    assert value(exporter, "ai_agent_audio_rms", stage="agent_out") == 0.2


def test_audio_without_a_call_reaches_the_fleet_and_creates_no_call():
    clock = Clock()
    exporter = make(clock)
    applied(exporter, {**event(clock, "audio", None, underflow=2, fallback=1), "provider": "cartesia"})
    assert value(exporter, "ai_agent_stream_underflow_events_total", provider="cartesia") == 2
    assert value(exporter, "ai_agent_streaming_fallbacks_total", provider="cartesia") == 1
    assert len(exporter.registry) == 0


def test_usage_and_cost_without_a_call_are_booked_at_once_under_the_events_labels():
    clock = Clock()
    exporter = make(clock)
    labels = {"tenant": "acme", "provider": "deepgram"}
    applied(
        exporter,
        {**event(clock, "usage", None, service="stt", unit="audio_seconds", quantity=60), **labels},
        {**event(clock, "usage", None, service="platform", unit="characters", quantity=9), **labels},
        {**event(clock, "cost", None, service="tts", usd=0.25), **labels},
    )
    priced = exporter.prices.price("stt", "deepgram", None, "audio_seconds", 60)
    assert priced > 0
    assert value(exporter, "ai_agent_cost_usd_total", service="stt", **labels) == priced
    assert value(exporter, "ai_agent_exporter_usage_priced_total", service="stt") == 1
    assert value(exporter, "ai_agent_cost_usd_total", service="tts", **labels) == 0.25
    assert (
        value(exporter, "ai_agent_usage_unpriced_total", provider="deepgram", service="platform", unit="characters")
        == 9
    )
    assert len(exporter.registry) == 0


def test_health_reports_each_breaker_state_as_its_number_and_folds_worker_names():
    clock = Clock()
    exporter = make(clock, label_values=1)
    applied(
        exporter,
        *[event(clock, "health", None, breaker=f"b-{state}", breaker_state=state) for state in BREAKER_STATES],
        event(clock, "health", None, worker="w-1", cpu_ratio=1.5, active_calls=3),
        event(clock, "health", None, worker="w-2", memory_ratio=0.4),
    )
    first = next(iter(BREAKER_STATES))
    assert value(exporter, "ai_agent_circuit_breaker_state", breaker=f"b-{first}") == BREAKER_STATES[first]
    assert value(exporter, "ai_agent_circuit_breaker_state", breaker="other") == max(BREAKER_STATES.values()), (
        "the last report of the folded breakers"
    )
    assert value(exporter, "ai_agent_worker_cpu_ratio", worker="w-1") == 1.5
    assert value(exporter, "ai_agent_worker_active_calls", worker="w-1") == 3
    assert value(exporter, "ai_agent_worker_memory_ratio", worker="other") == 0.4
