"""The LiveKit adapter on a real AgentSession with audio, in real time, into the stack as shipped: a real exporter,
Prometheus with the rule files, and the scorer.

Two earlier calls first, so that the dashboards' rates have earlier call ends, scores and barge-ins to work on: a
greeting, and a call like the measured one that loses its connection once, uses an STT with no price and ends in an
error. Then the call every test reads: each compares one part of it with what LiveKit itself reported (its
conversation items and their metrics, its usage summary, its fallback adapter's events, the room statistics it
handed out). Fleet counters are read as their growth during that call."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
import requests

from tests.frameworks.stack_checks import settled, value
from tests.harness import query, wait_for
from voice_monitoring.client import EventClient

pytestmark = [pytest.mark.frameworks("livekit"), pytest.mark.binaries]
GREETED, EARLIER, CALL = "lk-greeted", "lk-earlier", "lk-call"


@dataclass
class Played:
    stack: object
    record: object  # livekit_call.CallRecord of CALL
    since: float  # before CALL started, after every event of EARLIER was scraped

    def grew(self, expr: str) -> float:
        """How much ``expr`` (summed over its series) grew during CALL."""
        before = sum(float(r["value"][1]) for r in query(self.stack.prometheus.url, expr, at=self.since))
        return value(self.stack, expr) - before


@pytest.fixture(scope="module")
def played(tmp_path_factory):
    from tests.dashboards.panel_coverage import monitoring_stack
    from tests.frameworks import livekit_call, livekit_fakes

    with monitoring_stack(tmp_path_factory.mktemp("livekit")) as stack:
        with EventClient(stack.exporter.url) as client:
            livekit_call.play(GREETED, "acme", client, kind=livekit_call.GREETED)
            earlier = livekit_call.play(
                EARLIER, "acme", client, room=livekit_fakes.StatsRoom(), interval=2.0, kind=livekit_call.EARLIER
            )
            assert [e.type for e in earlier.errors][-1] == "llm_error"  # it ended in an error
            assert client.flush(10)
            settled(stack, f'ai_agent_call_ended{{call_id="{EARLIER}"}}', 1)
            time.sleep(1.5)  # a scrape after its last event
            since = time.time()
            record = livekit_call.play(CALL, "acme", client, room=livekit_fakes.StatsRoom(), interval=2.0)
            assert client.flush(10)
            stats = client.stats()
        assert stats["rejected"] == 0 and sum(stats["dropped"].values()) == 0, stats
        settled(stack, f'ai_agent_call_ended{{call_id="{CALL}"}}', 1)
        yield Played(stack, record, since)


def vendor(metadata: dict) -> tuple[str | None, str | None]:
    from voice_monitoring.client.vendors import livekit_vendor

    return livekit_vendor(metadata["model_provider"], metadata["model_name"])


def test_the_call_lasts_as_played_and_its_turns_are_livekits(played):
    stack, record = played.stack, played.record
    assert record.seconds < 20
    replies = record.messages("assistant")
    assert len(replies) == 4  # the greeting and three answers
    answered = [r for r in replies if "e2e_latency" in r.metrics]
    assert played.grew('ai_agent_calls_started_total{tenant="acme", pipeline="livekit"}') == 1
    assert played.grew('ai_agent_calls_ended_total{tenant="acme", reason="agent_hangup"}') == 1
    assert value(stack, f'ai_agent_call_turns{{call_id="{CALL}"}}') == len(answered)
    assert played.grew("ai_agent_turn_response_seconds_sum") == pytest.approx(
        sum(r.metrics["e2e_latency"] for r in answered)
    )


def test_stt_latency_and_requests_are_booked_under_the_stt_vendor(played):
    """LiveKit 1.8 puts stt_metadata on the user's message, not on the reply."""
    record = played.record
    users = [u for u in record.messages("user") if "transcription_delay" in u.metrics]
    assert users
    stt_vendor, _ = vendor(users[0].metrics["stt_metadata"])
    selector = f'{{component="stt", provider="{stt_vendor}"}}'
    assert played.grew(f"ai_agent_component_latency_seconds_count{selector}") == len(users)
    assert played.grew('ai_agent_component_latency_seconds_count{component="stt"}') == len(users)
    assert played.grew(f"ai_agent_component_latency_seconds_sum{selector}") == pytest.approx(
        sum(u.metrics["transcription_delay"] for u in users)
    )
    requests_ok = f'ai_agent_provider_requests_total{{service="stt", provider="{stt_vendor}", status="ok"}}'
    assert played.grew(requests_ok) == len(users)


def test_the_greeting_tts_ttfb_is_booked_under_the_session_tts_vendor(played):
    """A session.say reply has no tts_metadata: the session's TTS spoke it."""
    record = played.record
    replies = [r for r in record.messages("assistant") if "tts_node_ttfb" in r.metrics]
    greeting = replies[0]
    assert "tts_metadata" not in greeting.metrics and "e2e_latency" not in greeting.metrics
    tts_vendor, _ = vendor(replies[1].metrics["tts_metadata"])
    selector = f'{{component="tts_ttfb", provider="{tts_vendor}"}}'
    assert played.grew(f"ai_agent_component_latency_seconds_count{selector}") == len(replies)
    assert played.grew(f"ai_agent_component_latency_seconds_sum{selector}") == pytest.approx(
        sum(r.metrics["tts_node_ttfb"] for r in replies)
    )


def test_livekit_inference_usage_is_booked_and_priced_under_the_model_vendor(played):
    """LiveKit Inference reports provider "livekit" and model "openai/gpt-4o-mini": openai's gpt-4o-mini prices."""
    from voice_monitoring.exporter.pricing import PriceTable

    record = played.record
    prices = PriceTable.default()
    reply = next(r for r in record.messages("assistant") if "llm_metadata" in r.metrics)
    llm_vendor, llm_model = vendor(reply.metrics["llm_metadata"])
    assert (reply.metrics["llm_metadata"]["model_provider"], llm_vendor) == ("livekit", "openai")
    usage = {u.type: u for u in record.usage.model_usage}
    assert usage["llm_usage"].input_cached_tokens > 0
    expected = {}
    for service, unit, kind, quantity_of in (
        # LiveKit's input tokens include those read from the prompt cache, priced apart
        ("llm", "tokens_in", "llm_usage", lambda used: used.input_tokens - used.input_cached_tokens),
        ("llm", "tokens_in_cached", "llm_usage", lambda used: used.input_cached_tokens),
        ("llm", "tokens_out", "llm_usage", lambda used: used.output_tokens),
        ("tts", "characters", "tts_usage", lambda used: used.characters_count),
        ("stt", "audio_seconds", "stt_usage", lambda used: used.audio_duration),
    ):
        used = usage[kind]
        provider, model = vendor({"model_provider": used.provider, "model_name": used.model})
        quantity = quantity_of(used)
        selector = f'{{service="{service}", provider="{provider}", unit="{unit}"}}'
        assert played.grew(f"ai_agent_usage_total{selector}") == pytest.approx(quantity)
        cost = prices.price(service, provider, model, unit, quantity)
        assert cost, (service, provider, model, unit)
        expected[(service, provider)] = expected.get((service, provider), 0.0) + cost
    assert ("llm", llm_vendor) in expected and llm_model == "gpt-4o-mini"
    for (service, provider), usd in expected.items():
        spent = f'ai_agent_cost_usd_total{{tenant="acme", service="{service}", provider="{provider}"}}'
        assert played.grew(spent) == pytest.approx(usd, rel=1e-6)
    ttft = f'ai_agent_component_latency_seconds_count{{component="llm_ttft", provider="{llm_vendor}"}}'
    assert played.grew(ttft) == sum(1 for r in record.messages("assistant") if "llm_node_ttft" in r.metrics)
    assert played.grew('ai_agent_usage_total{provider="livekit"}') == 0


def _overlaps(record) -> list[tuple[float, float]]:
    """(the caller started speaking while the agent spoke, the agent stopped speaking), from LiveKit's own state
    changes."""
    changes = sorted(
        [("agent", s, t) for s, t in record.agent_states] + [("user", s, t) for s, t in record.user_states],
        key=lambda change: change[2],
    )
    speaking, started, overlaps = False, None, []
    for kind, state, at in changes:
        if kind == "user":
            if state == "speaking" and speaking and started is None:
                started = at
        elif state == "speaking":
            speaking = True
        else:
            if speaking and started is not None:
                overlaps.append((started, at))
            speaking, started = False, None
    return overlaps


def test_a_self_hosted_barge_in_has_its_reaction_time(played):
    """No adaptive interruption detector runs here (it is LiveKit Cloud's): the reaction is the caller starting
    to speak over the agent until the agent stops speaking (LiveKit pauses the audio there)."""
    record = played.record
    interrupted = [r for r in record.messages("assistant") if r.interrupted]
    assert len(interrupted) == 1
    overlaps = _overlaps(record)
    assert len(overlaps) == 2  # the "uh-huh" and the barge-in
    started, stopped = overlaps[-1]
    assert played.grew("ai_agent_barge_in_events_total") == 1
    assert played.grew("ai_agent_barge_in_reaction_seconds_count") == 1
    assert played.grew("ai_agent_barge_in_reaction_seconds_sum") == pytest.approx(stopped - started, abs=0.05)
    assert played.grew("ai_agent_interrupted_turns_total") == 1


def test_a_false_interruption_is_counted_as_one(played):
    record = played.record
    assert record.false_interruptions == [True]  # LiveKit resumed the agent's speech after the "uh-huh"
    assert played.grew("ai_agent_false_interruptions_total") == len(record.false_interruptions)


def test_the_greeting_speech_counts_in_the_call(played):
    """The greeting has no turn latency, so it is not a turn; its speech still counts as the agent's."""
    stack, record = played.stack, played.record
    replies = record.messages("assistant")
    spoken = sum(r.metrics["stopped_speaking_at"] - r.metrics["started_speaking_at"] for r in replies)
    assert value(stack, f'ai_agent_call_agent_speech_seconds{{call_id="{CALL}"}}') == pytest.approx(spoken, abs=1e-3)


def test_stt_to_tts_latency_runs_from_the_final_transcript_to_the_first_tts_audio(played):
    record = played.record
    expected, user = [], None
    for item in record.messages():  # in the order LiveKit added them
        if item.role == "user":
            user = item.metrics
        elif user is not None and "e2e_latency" in item.metrics:
            first_audio = item.metrics["started_speaking_at"] - item.metrics.get("playback_latency", 0.0)
            expected.append(first_audio - user["stopped_speaking_at"] - user["transcription_delay"])
            user = None
    assert len(expected) == 3
    assert played.grew("ai_agent_stt_to_tts_seconds_count") == len(expected)
    assert played.grew("ai_agent_stt_to_tts_seconds_sum") == pytest.approx(sum(expected), abs=1e-3)


def test_the_room_statistics_give_the_call_its_transport_figures_and_an_mos(played):
    stack, record = played.stack, played.record
    last = record.room.answers[-1]
    remote = next(s.remote_inbound_rtp for s in last.publisher_stats if s.HasField("remote_inbound_rtp"))
    inbound = next(s.inbound_rtp for s in last.subscriber_stats if s.HasField("inbound_rtp"))
    outbound = next(s.outbound_rtp for s in last.publisher_stats if s.HasField("outbound_rtp"))
    call = f'{{call_id="{CALL}"}}'
    assert value(stack, f"ai_agent_call_transport_rtt_seconds{call}") == pytest.approx(
        remote.remote_inbound.round_trip_time
    )
    assert value(stack, f"ai_agent_call_transport_jitter_seconds{call}") == pytest.approx(inbound.received.jitter)
    # counters are cumulative in the statistics: the deltas the adapter sent add up to the last reading
    assert played.grew('ai_agent_audio_bytes_total{direction="rx"}') == inbound.inbound.bytes_received
    assert played.grew('ai_agent_audio_bytes_total{direction="tx"}') == outbound.sent.bytes_sent
    assert query(stack.prometheus.url, f'ai_agent_call_codec_info{{call_id="{CALL}", codec="opus"}}')
    answer = wait_for(lambda: _scored(stack), 30, interval=0.5, what="the scorer's E-model estimate of the call")
    assert 1.0 < answer["emodel"]["mos"] < 4.5
    assert answer["emodel"]["codec"] == "opus"


def _scored(stack) -> dict | None:
    response = requests.get(f"{stack.scorer.url}/calls/{CALL}", timeout=5)
    answer = response.json() if response.status_code == 200 else None
    return answer if answer and answer.get("ended") and answer.get("emodel") else None


def test_audio_levels_underruns_and_codec_alignment_come_from_the_audio(played):
    stack, record = played.stack, played.record
    assert value(stack, 'ai_agent_audio_rms{stage="caller_in"}') > 0
    assert value(stack, 'ai_agent_audio_rms{stage="agent_out"}') > 0
    assert record.device.underruns >= 1  # the playout device ran dry inside the stalled answer
    assert played.grew("ai_agent_stream_underflow_events_total") == record.device.underruns
    assert value(stack, f'ai_agent_call_underflow_events{{call_id="{CALL}"}}') == record.device.underruns
    # the playout buffer when frames arrived: never more than the device holds plus one TTS frame (200 ms)
    assert played.grew("ai_agent_jitter_buffer_depth_frames_count") >= 1
    deepest = (record.device.ahead + 0.2) / 0.02
    assert 0 <= value(stack, "ai_agent_streaming_jitter_buffer_depth") <= deepest
    aligned = record.tts_sample_rate == record.device.sample_rate
    assert aligned
    assert played.grew('ai_agent_codec_checks_total{result="aligned"}') >= 1
    assert played.grew('ai_agent_codec_checks_total{result="misaligned"}') == 0


def test_the_tts_fallback_adapter_gives_provider_health_and_breakers(played):
    stack, record = played.stack, played.record
    assert record.availability == [("elevenlabs", False)]  # what LiveKit's FallbackAdapter reported
    assert value(stack, 'ai_agent_provider_up{service="tts", provider="elevenlabs"}') == 0
    assert value(stack, 'ai_agent_provider_up{service="tts", provider="cartesia"}') == 1
    assert value(stack, 'ai_agent_circuit_breaker_state{breaker="elevenlabs_tts"}') == 2  # open
    assert value(stack, 'ai_agent_circuit_breaker_state{breaker="cartesia_tts"}') == 0  # closed
    failed = played.grew('ai_agent_provider_requests_total{service="tts", provider="elevenlabs", status="error"}')
    assert failed >= 1  # the failed request and the adapter's recovery probes, which LiveKit's session never sees
    assert played.grew('ai_agent_errors_total{component="tts", kind="http_5xx"}') == failed


def test_a_rate_limited_llm_request_is_an_error_of_the_llm_vendor(played):
    record = played.record
    limited = [e for e in record.errors if e.type == "llm_error"]
    assert len(limited) == 1 and limited[0].error.status_code == 429 and limited[0].recoverable
    assert played.grew('ai_agent_errors_total{component="llm", kind="rate_limited"}') == 1
    assert played.grew('ai_agent_provider_requests_total{service="llm", provider="openai", status="error"}') == 1


def test_the_calls_fill_every_voice_panel_livekit_can_fill(played):
    from tests.dashboards.panel_coverage import assert_panel_coverage

    deadline = time.monotonic() + 20  # the recording rules and the scorer's final score take a few evaluations
    while True:
        try:
            assert_panel_coverage("livekit", played.stack.prometheus.url, CALL)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)
