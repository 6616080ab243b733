"""LiveKit usage into a real exporter from metrics_collected, which releases without session_usage_updated have:
the audio session test (test_livekit.py) covers session_usage_updated."""

from __future__ import annotations

import asyncio

import pytest

from tests.client.exporter_metrics import exporter_value
from voice_monitoring.client import EventClient

pytestmark = pytest.mark.frameworks("livekit")
USAGE = "ai_agent_usage_total"


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
        metadata=Metadata(model_name="openai/gpt-4o-mini", model_provider="livekit"),  # LiveKit Inference
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


def test_the_call_is_labelled_with_the_agent_name_the_worker_registered(exporter):
    """A session monitored inside a job (LiveKit's own JobContext) takes the job's agent name and id; the version
    is the caller's to give."""
    from livekit import rtc
    from livekit.agents import AgentSession
    from livekit.agents.job import (
        JobAcceptArguments,
        JobContext,
        JobExecutorType,
        JobProcess,
        RunningJobInfo,
        _JobContextVar,
    )
    from livekit.protocol import agent

    from voice_monitoring.client.livekit import monitor_session

    async def in_a_job(client):
        info = RunningJobInfo(
            accept_arguments=JobAcceptArguments(name="", identity="agent", metadata=""),
            job=agent.Job(id="job-support-1", agent_name="support-bot"),
            url="",
            token="",
            worker_id="worker-1",
            fake_job=True,
        )
        proc = JobProcess(executor_type=JobExecutorType.THREAD, user_arguments=None, http_proxy=None)
        job = JobContext(
            proc=proc,
            info=info,
            room=rtc.Room(),
            on_connect=lambda: None,
            on_shutdown=lambda reason: None,
            inference_executor=None,
        )
        token = _JobContextVar.set(job)
        try:
            monitor = monitor_session(AgentSession(), tenant="acme", client=client, agent_version="2026-11-30")
            monitor.call.start("webrtc")
            monitor.call.end("completed")
        finally:
            _JobContextVar.reset(token)

    with EventClient(exporter.url) as client:
        asyncio.run(in_a_job(client))
        assert client.flush(10)
    labels = {"agent": "support-bot", "agent_version": "2026-11-30"}
    assert exporter_value(exporter.url, "ai_agent_agent_calls_started_total", **labels) == 1
    assert exporter_value(exporter.url, "ai_agent_agent_calls_ended_total", reason="agent_hangup", **labels) == 1
    assert exporter_value(exporter.url, "ai_agent_call_agent_info", call_id="job-support-1", **labels) == 1
