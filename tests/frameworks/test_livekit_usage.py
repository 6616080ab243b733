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
    from voice_monitoring.client.vendors import livekit_vendor
    from voice_monitoring.exporter.pricing import PriceTable

    llm = LLMMetrics(
        label="llm",
        request_id="r1",
        timestamp=0.0,
        duration=1.2,
        ttft=0.3,
        cancelled=False,
        completion_tokens=30,
        prompt_tokens=500,
        prompt_cached_tokens=200,  # of the prompt_tokens
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
        monitor.call.start("webrtc")
        for metrics in (llm, tts):  # what such a release hands the handler instead
            monitor._on_metrics(MetricsCollectedEvent(metrics=metrics))
        monitor.call.end("completed")  # the call's usage is priced as it ends

    with EventClient(exporter.url) as client:
        asyncio.run(collected(client))
        assert client.flush(10)
    llm_usage = {"service": "llm", "provider": "openai"}
    uncached = llm.prompt_tokens - llm.prompt_cached_tokens
    assert exporter_value(exporter.url, USAGE, unit="tokens_in", **llm_usage) == uncached
    assert exporter_value(exporter.url, USAGE, unit="tokens_in_cached", **llm_usage) == llm.prompt_cached_tokens
    assert exporter_value(exporter.url, USAGE, unit="tokens_out", **llm_usage) == llm.completion_tokens
    prices = PriceTable.default()
    usd = sum(
        prices.price("llm", *livekit_vendor(llm.metadata.model_provider, llm.metadata.model_name), unit, quantity)
        for unit, quantity in (
            ("tokens_in", uncached),
            ("tokens_in_cached", llm.prompt_cached_tokens),
            ("tokens_out", llm.completion_tokens),
        )
    )
    spent = exporter_value(exporter.url, "ai_agent_cost_usd_total", tenant="acme", **llm_usage)
    assert spent == pytest.approx(usd, rel=1e-6)
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
