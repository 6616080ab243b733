"""The LiveKit adapter where the main audio call does not go: an output that asks for another sample rate than the
TTS gives (LiveKit resamples: a misaligned codec check), and LiveKit Cloud's adaptive interruption detector, whose
delay is kept as the barge-in reaction."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.client.exporter_metrics import exporter_value
from voice_monitoring.client import EventClient

pytestmark = pytest.mark.frameworks("livekit")


def test_an_output_at_another_rate_than_the_tts_is_a_misaligned_codec_check(exporter):
    from tests.frameworks import livekit_call

    with EventClient(exporter.url) as client:
        record = livekit_call.play("lk-resampled", "acme", client, kind=livekit_call.GREETED, output_rate=48000)
        assert client.flush(10)
    assert record.tts_sample_rate == 24000
    assert record.device.rates == {48000}  # LiveKit resampled the TTS's audio for the output
    assert exporter_value(exporter.url, "ai_agent_codec_checks_total", result="misaligned") >= 1
    assert exporter_value(exporter.url, "ai_agent_codec_checks_total", result="aligned") == 0


def test_the_adaptive_detectors_delay_is_the_barge_in_reaction(exporter):
    """LiveKit Cloud's detector cannot run offline: its event is emitted on a real session as LiveKit emits it."""
    from livekit.agents import AgentSession
    from livekit.agents.inference.interruption import OverlappingSpeechEvent
    from livekit.agents.llm import ChatMessage
    from livekit.agents.voice.events import AgentStateChangedEvent, ConversationItemAddedEvent, UserStateChangedEvent

    from voice_monitoring.client.livekit import monitor_session

    async def interrupted(client) -> None:
        session = AgentSession()
        monitor = monitor_session(session, "lk-detector", tenant="acme", client=client)
        now = time.time()
        session.emit("agent_state_changed", AgentStateChangedEvent(old_state="thinking", new_state="speaking"))
        session.emit("user_state_changed", UserStateChangedEvent(old_state="listening", new_state="speaking"))
        detected = OverlappingSpeechEvent(is_interruption=True, detection_delay=0.27)
        session.emit("overlapping_speech", detected)
        reply = ChatMessage(
            role="assistant",
            content=["It ships"],
            interrupted=True,
            metrics={"started_speaking_at": now - 1.0, "stopped_speaking_at": now, "e2e_latency": 0.8},
        )
        session.emit("conversation_item_added", ConversationItemAddedEvent(item=reply))
        session.emit("agent_state_changed", AgentStateChangedEvent(old_state="speaking", new_state="listening"))
        assert monitor.call.call_id == "lk-detector"
        await asyncio.sleep(0)

    with EventClient(exporter.url) as client:
        asyncio.run(interrupted(client))
        assert client.flush(10)
    assert exporter_value(exporter.url, "ai_agent_barge_in_reaction_seconds_count") == 1
    assert exporter_value(exporter.url, "ai_agent_barge_in_reaction_seconds_sum") == pytest.approx(0.27)
