"""LiveKit usage into a real exporter: cumulative session usage counted once, and the metrics_collected fallback."""

from __future__ import annotations

import asyncio

import pytest

from tests.client.exporter_metrics import exporter_value
from voice_monitoring.client import EventClient

pytestmark = pytest.mark.frameworks("livekit")
USAGE = "ai_agent_usage_total"


def test_cumulative_session_usage_is_sent_as_deltas(exporter):
    from livekit.agents import AgentSession
    from livekit.agents.metrics import AgentSessionUsage, STTModelUsage, TTSModelUsage
    from livekit.agents.voice.events import SessionUsageUpdatedEvent

    from voice_monitoring.client.livekit import monitor_session

    def report(characters: int, seconds: float) -> SessionUsageUpdatedEvent:
        tts = TTSModelUsage(provider="elevenlabs", model="eleven_flash_v2_5", characters_count=characters)
        stt = STTModelUsage(provider="deepgram", model="nova-3", audio_duration=seconds)
        return SessionUsageUpdatedEvent(usage=AgentSessionUsage(model_usage=[tts, stt]))

    async def session_reports(client):
        session = AgentSession()
        monitor_session(session, "lk-usage", tenant="acme", client=client)
        for characters, seconds in ((100, 4.0), (100, 4.0), (250, 9.5)):  # the second report adds nothing
            session.emit("session_usage_updated", report(characters, seconds))

    with EventClient(exporter.url) as client:
        asyncio.run(session_reports(client))
        assert client.flush(10)
        assert client.stats()["rejected"] == 0
    assert exporter_value(exporter.url, USAGE, service="tts", provider="elevenlabs", unit="characters") == 250
    assert exporter_value(exporter.url, USAGE, service="stt", provider="deepgram", unit="audio_seconds") == 9.5


def test_metrics_collected_usage_on_releases_without_session_usage(exporter):
    from livekit.agents import AgentSession
    from livekit.agents.metrics import LLMMetrics, TTSMetrics
    from livekit.agents.metrics.base import Metadata
    from livekit.agents.voice.events import MetricsCollectedEvent

    from voice_monitoring.client.livekit import monitor_session

    llm = LLMMetrics(
        label="llm",
        request_id="r1",
        timestamp=0.0,
        duration=1.2,
        ttft=0.3,
        cancelled=False,
        completion_tokens=30,
        prompt_tokens=500,
        prompt_cached_tokens=0,
        total_tokens=530,
        tokens_per_second=25.0,
        metadata=Metadata(model_name="gpt-4o-mini", model_provider="openai"),
    )
    tts = TTSMetrics(
        label="tts",
        request_id="r2",
        timestamp=0.0,
        ttfb=0.2,
        duration=1.0,
        audio_duration=3.0,
        cancelled=False,
        characters_count=80,
        streamed=True,
        metadata=Metadata(model_name="sonic-2", model_provider="cartesia"),
    )

    async def collected(client):
        monitor = monitor_session(AgentSession(), "lk-old", tenant="acme", client=client)
        for metrics in (llm, tts):  # what such a release hands the handler instead
            monitor._on_metrics(MetricsCollectedEvent(metrics=metrics))

    with EventClient(exporter.url) as client:
        asyncio.run(collected(client))
        assert client.flush(10)
    assert exporter_value(exporter.url, USAGE, service="llm", provider="openai", unit="tokens_in") == 500
    assert exporter_value(exporter.url, USAGE, service="llm", provider="openai", unit="tokens_out") == 30
    assert exporter_value(exporter.url, USAGE, service="tts", provider="cartesia", unit="characters") == 80
