"""Real framework sessions with tracing on, exporting through the OpenTelemetry SDK's OTLP/HTTP exporter to a real
exporter that a real Prometheus scrapes: the series equal what the framework itself reported, and (LiveKit) what
the in-process adapter gives for the same session."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import prometheus_config, query, start_exporter, start_prometheus, wait_for

pytestmark = pytest.mark.binaries
ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def stack(tmp_path):
    """Two exporters, one fed by traces and one by the in-process adapter, and a Prometheus scraping both."""
    traces = start_exporter(tmp_path, env={"VOICE_MONITORING_HEALTH_INTERVAL": "0"})
    adapter = start_exporter(tmp_path)
    try:
        jobs = {name: [service.url.split("//", 1)[1]] for name, service in (("traces", traces), ("adapter", adapter))}
        prometheus = start_prometheus(tmp_path, prometheus_config(jobs))
        try:
            wait_for(lambda: len(query(prometheus.url, "up == 1")) == 2, 30, what="Prometheus scraping both exporters")
            yield traces, adapter, prometheus
        finally:
            prometheus.stop()
    finally:
        traces.stop()
        adapter.stop()


def value(prometheus, expr: str) -> float:
    return sum(float(r["value"][1]) for r in query(prometheus.url, expr))


def settled(prometheus, expr: str, expected: float, timeout: float = 15.0) -> None:
    def reached():
        return abs(value(prometheus, expr) - expected) <= 1e-6 * max(1.0, abs(expected))

    wait_for(reached, timeout, interval=0.5, what=f"{expr} to reach {expected} (it is {value(prometheus, expr)})")


@pytest.mark.frameworks("pipecat")
def test_a_traced_pipecat_pipeline_fills_the_series_pipecat_reported(stack):
    traces, adapter, prometheus = stack
    env = dict(os.environ, OTEL_RESOURCE_ATTRIBUTES="voice.tenant=acme", VOICE_MONITORING_HEALTH_INTERVAL="0")
    run = subprocess.run(
        [sys.executable, "-m", "tests.otlp.pipecat_traced", f"{traces.url}/v1/traces", adapter.url],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
        env=env,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    reported = json.loads(run.stdout.strip().splitlines()[-1])
    job = '{job="traces"}'
    settled(prometheus, f"sum(ai_agent_calls_ended_total{job})", 1)
    settled(prometheus, 'sum(ai_agent_calls_started_total{job="traces",tenant="acme",pipeline="pipecat-agent"})', 1)
    latencies = reported["latencies"]
    assert len(latencies) == 3
    settled(prometheus, f"sum(ai_agent_turns_total{job})", len(latencies))
    settled(prometheus, f"sum(ai_agent_turn_response_seconds_sum{job})", sum(latencies))
    settled(prometheus, f"sum(ai_agent_interrupted_turns_total{job})", sum(reported["turns_interrupted"]))
    settled(prometheus, f"sum(ai_agent_barge_in_events_total{job})", sum(reported["turns_interrupted"]))
    for component, kind, provider in (("llm_ttft", "llm", "openai"), ("tts_ttfb", "tts", "cartesia")):
        selector = f'{{job="traces",component="{component}",provider="{provider}"}}'
        settled(prometheus, f"sum(ai_agent_component_latency_seconds_count{selector})", len(reported["ttfb"][kind]))
        settled(prometheus, f"sum(ai_agent_component_latency_seconds_sum{selector})", sum(reported["ttfb"][kind]))
    for provider, service, unit, key in (
        ("openai", "llm", "tokens_in", "tokens_in"),
        ("openai", "llm", "tokens_out", "tokens_out"),
        ("cartesia", "tts", "characters", "characters"),
    ):
        selector = f'{{job="traces",provider="{provider}",service="{service}",unit="{unit}"}}'
        settled(prometheus, f"sum(ai_agent_usage_total{selector})", reported[key])
    assert value(prometheus, 'sum(ai_agent_cost_usd_total{job="traces",tenant="acme"})') > 0
    # the in-process adapter, on the same pipeline, gives the same figures where both report one (the traces carry
    # no endpointing delay)
    agree(
        prometheus,
        *AGREED,
        'sum by (component, provider) (ai_agent_component_latency_seconds_count{job=~JOB,component!="endpointing"})',
    )
    agree(
        prometheus,
        "sum by (provider) (ai_agent_turns_total{job=~JOB})",
        "sum(ai_agent_barge_in_events_total{job=~JOB})",
    )
    # the same anchor (the caller's VAD stop to the bot's first speech), each taken when its observer sees the frame
    agree(prometheus, "sum(ai_agent_turn_response_seconds_sum{job=~JOB})", tolerance=0.01)
    agree(
        prometheus,
        'sum by (component) (ai_agent_component_latency_seconds_sum{job=~JOB,component!="endpointing"})',
        tolerance=1e-6,
    )


REPLIES = ("Your order ships on Friday.", "It left the warehouse this morning.")


def livekit_session(endpoint: str, adapter_url: str) -> dict:
    """A text-mode LiveKit AgentSession answering two questions, traced to ``endpoint`` and monitored in-process by
    the adapter; returns what LiveKit reported: its usage, each reply's LLM TTFT, the close reason."""
    from livekit.agents import Agent, AgentSession, llm
    from livekit.agents.llm import ChatChunk, ChoiceDelta, CompletionUsage
    from livekit.agents.telemetry import set_tracer_provider
    from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from voice_monitoring.client import EventClient
    from voice_monitoring.client.livekit import monitor_session

    class ScriptedLLM(llm.LLM):
        @property
        def provider(self) -> str:
            return "livekit"

        @property
        def model(self) -> str:
            return "openai/gpt-4o-mini"

        def chat(self, *, chat_ctx, tools=None, conn_options=DEFAULT_API_CONNECT_OPTIONS, **kwargs):
            return ScriptedStream(self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options)

    class ScriptedStream(llm.LLMStream):
        async def _run(self) -> None:
            asked = sum(1 for item in self._chat_ctx.items if getattr(item, "role", None) == "user")
            reply = REPLIES[min(asked, len(REPLIES)) - 1]
            await asyncio.sleep(0.1 * asked)
            for word in reply.split(" "):
                self._event_ch.send_nowait(ChatChunk(id="r", delta=ChoiceDelta(role="assistant", content=word + " ")))
            prompt, completion = 40 * asked, len(reply) // 4
            usage = CompletionUsage(
                completion_tokens=completion, prompt_tokens=prompt, total_tokens=prompt + completion
            )
            self._event_ch.send_nowait(ChatChunk(id="r", usage=usage))

    provider = TracerProvider(resource=Resource.create({"service.name": "livekit-agent", "voice.tenant": "acme"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, timeout=5)))
    set_tracer_provider(provider)
    record: dict = {"ttft": [], "close": []}

    async def converse(client) -> None:
        session = AgentSession(llm=ScriptedLLM())
        session.on("close", lambda event: record["close"].append(event.reason.value))

        def added(event) -> None:
            metrics = getattr(event.item, "metrics", None) or {}
            if getattr(event.item, "role", None) == "assistant" and "llm_node_ttft" in metrics:
                record["ttft"].append(metrics["llm_node_ttft"])

        session.on("conversation_item_added", added)
        monitor = monitor_session(session, "livekit-adapter-call", tenant="acme", client=client)
        await session.start(Agent(instructions="Answer the caller about their order."))
        for question in ("Where is my order?", "When did it leave?"):
            await session.run(user_input=question)
        usage = session.usage.model_usage[0]
        record["tokens_in"], record["tokens_out"] = usage.input_tokens, usage.output_tokens
        await session.aclose()
        await monitor.wait_ended()

    with EventClient(adapter_url) as client:
        asyncio.run(asyncio.wait_for(converse(client), 20))
        assert client.flush(10)
    provider.shutdown()  # flushes the batch span processor through the OTLP exporter
    return record


@pytest.mark.frameworks("livekit")
def test_a_traced_livekit_session_fills_the_series_livekit_and_the_adapter_reported(stack):
    traces, adapter, prometheus = stack
    reported = livekit_session(f"{traces.url}/v1/traces", adapter.url)
    assert len(reported["ttft"]) == len(REPLIES) and reported["close"] == ["user_initiated"]
    settled(prometheus, 'sum(ai_agent_calls_started_total{job="traces",tenant="acme",pipeline="livekit-agent"})', 1)
    settled(prometheus, 'sum(ai_agent_calls_ended_total{job="traces",reason="agent_hangup"})', 1)
    ttft = '{job="traces",component="llm_ttft",provider="openai"}'
    settled(prometheus, f"sum(ai_agent_component_latency_seconds_count{ttft})", len(REPLIES))
    settled(prometheus, f"sum(ai_agent_component_latency_seconds_sum{ttft})", sum(reported["ttft"]))
    for unit in ("tokens_in", "tokens_out"):
        selector = f'{{job="traces",provider="openai",service="llm",unit="{unit}"}}'
        settled(prometheus, f"sum(ai_agent_usage_total{selector})", reported[unit])
    # the in-process adapter, on the same session, gives the same figures where both report one
    agree(
        prometheus,
        *AGREED,
        'sum by (component) (ai_agent_component_latency_seconds_count{job=~JOB,component="llm_ttft"})',
        'sum by (component) (ai_agent_component_latency_seconds_sum{job=~JOB,component="llm_ttft"})',
    )


# What both the adapter and the traces report, as queries over one exporter's job (JOB).
AGREED = (
    "sum by (provider, service, unit) (ai_agent_usage_total{job=~JOB})",
    "sum by (tenant, provider, service) (ai_agent_cost_usd_total{job=~JOB})",
    "sum(ai_agent_calls_ended_total{job=~JOB})",
)


def agree(prometheus, *exprs: str, tolerance: float = 1e-9) -> None:
    """Wait until the adapter's and the traces' exporters both have series for each of ``exprs``, with the same
    labels and values within ``tolerance``."""

    def answers(expr: str) -> list[dict]:
        return [
            {tuple(sorted(r["metric"].items())): float(r["value"][1]) for r in query(prometheus.url, one)}
            for one in (expr.replace("JOB", '"adapter"'), expr.replace("JOB", '"traces"'))
        ]

    def agreeing(expr: str) -> bool:
        adapter, traces = answers(expr)
        same = adapter.keys() == traces.keys() and all(abs(adapter[k] - traces[k]) <= tolerance for k in adapter)
        return bool(adapter) and same

    for expr in exprs:
        wait_for(
            lambda expr=expr: agreeing(expr),
            15,
            interval=0.5,
            what=f"{expr} to agree between the adapter and the traces (adapter, traces: {answers(expr)})",
        )
