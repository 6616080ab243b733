"""Spans shaped like a framework's, made with the OpenTelemetry SDK and sent through its OTLP/HTTP exporter."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode
from prometheus_client.parser import text_string_to_metric_families

from voice_monitoring.exporter.core import Exporter
from voice_monitoring.exporter.server import ExporterServer
from voice_monitoring.shared.http_service import ServerLimits

RESOURCE = {"service.name": "support-agent", "voice.tenant": "acme"}


def pipecat_call(turns: Sequence[dict], error: bool = False, resource: dict | None = None) -> list[ReadableSpan]:
    """A Pipecat 1.14 conversation as its tracing writes it: a ``conversation`` span, a ``turn`` span per turn with
    the user-to-bot latency, and under each an ``llm`` and a ``tts`` span with their TTFB and usage."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create(resource or RESOURCE))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    turn_tracer, service_tracer = provider.get_tracer("pipecat.turn"), provider.get_tracer("pipecat")
    conversation = turn_tracer.start_span("conversation", attributes={"conversation.id": "conv-1"})
    context = trace.set_span_in_context(conversation)
    for number, turn in enumerate(turns, 1):
        span = turn_tracer.start_span("turn", context=context, attributes={"turn.number": number})
        inner = trace.set_span_in_context(span)
        stt = {"gen_ai.provider.name": "deepgram", "gen_ai.request.model": "nova-3", "metrics.ttfb": turn["stt_ttfb"]}
        service_tracer.start_span(
            "stt", context=inner, attributes={**stt, "metrics.audio_seconds": turn["audio"]}
        ).end()
        llm = service_tracer.start_span(
            "llm",
            context=inner,
            attributes={
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "metrics.ttfb": turn["llm_ttfb"],
                "gen_ai.usage.input_tokens": turn["tokens_in"],
                "gen_ai.usage.output_tokens": turn["tokens_out"],
            },
        )
        if error:
            llm.set_status(Status(StatusCode.ERROR, "rate limited"))
            llm.set_attribute("error.type", "RateLimitError")
        llm.end()
        tts = service_tracer.start_span(
            "tts",
            context=inner,
            attributes={
                "gen_ai.provider.name": "cartesiahttp",
                "gen_ai.request.model": "sonic-2",
                "metrics.ttfb": turn["tts_ttfb"],
                "metrics.character_count": turn["characters"],
            },
        )
        tts.end()
        span.set_attribute("turn.user_bot_latency_seconds", turn["latency"])
        span.set_attribute("turn.was_interrupted", turn.get("interrupted", False) or turn.get("hung_up", False))
        if turn.get("hung_up"):
            span.set_attribute("turn.ended_by_conversation_end", True)
        span.end()
    conversation.end()
    provider.shutdown()
    return list(memory.get_finished_spans())


def span_of(scope: str, name: str, attributes: dict | None = None) -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create(RESOURCE))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.get_tracer(scope).start_span(name, attributes=attributes or {}).end()
    provider.shutdown()
    return list(memory.get_finished_spans())


def otlp_protobuf(spans: Sequence[ReadableSpan]) -> bytes:
    return encode_spans(spans).SerializeToString()


@contextmanager
def served(token: str | None = None, max_body_bytes: int = 5 * 1024 * 1024, max_events: int = 10_000, clock=None):
    """An exporter serving HTTP on a free loopback port, in this process."""
    exporter = Exporter(clock=clock) if clock else Exporter()
    server = ExporterServer(
        ("127.0.0.1", 0),
        exporter,
        token=token,
        max_events=max_events,
        limits=ServerLimits(max_body_bytes=max_body_bytes),
    )
    with server.running():
        yield exporter, f"http://127.0.0.1:{server.port}"


def send(url: str, spans: Sequence[ReadableSpan], gzip: bool = False, token: str | None = None) -> SpanExportResult:
    """Export ``spans`` through the SDK's own OTLP/HTTP span exporter, as an agent's BatchSpanProcessor would."""
    exporter = OTLPSpanExporter(
        endpoint=f"{url}/v1/traces",
        compression=Compression.Gzip if gzip else Compression.NoCompression,
        headers={"Authorization": f"Bearer {token}"} if token else None,
        timeout=5,
    )
    try:
        return exporter.export(spans)
    finally:
        exporter.shutdown()


def metric(exporter: Exporter, name: str, **labels: str) -> float:
    """The sum of the samples ``name`` whose labels include ``labels``, from the exporter's exposition."""
    total = 0.0
    for family in text_string_to_metric_families(exporter.render().decode()):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def exposition(exporter: Exporter) -> str:
    """The exposition without the lines that change by themselves (process start)."""
    return "\n".join(line for line in exporter.render().decode().splitlines() if "process_start" not in line)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    started = time.monotonic()
    yield
    assert time.monotonic() - started < seconds, f"took longer than {seconds}s"


LIVEKIT_TURN = {
    "transcription_delay": 0.21,
    "end_of_turn_delay": 0.52,
    "e2e": 1.13,
    "ttft": 0.36,
    "ttfb": 0.19,
    "tokens_in": 210,
    "tokens_out": 31,
    "characters": 64,
}


def livekit_call(version: str, interrupted: bool = False) -> list[ReadableSpan]:
    """A LiveKit Agents session with one spoken turn, as ``version`` ("1.8" or "1.7") traces it.

    1.8 spells gen_ai.provider.name as the OpenTelemetry GenAI registry does ("openai" for api.openai.com), puts the
    turn's end-to-end latency and the user turn's stages on agent_turn, and the close reason on session_close; 1.7
    writes the plugin's own provider string, and has neither the latency on agent_turn nor a close reason.
    """
    t = LIVEKIT_TURN
    llm_provider = "openai" if version == "1.8" else "api.openai.com"
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create(RESOURCE))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("livekit-agents")
    session = tracer.start_span("agent_session")
    root = trace.set_span_in_context(session)
    stt = {"gen_ai.provider.name": "Deepgram", "gen_ai.request.model": "nova-3"}
    stages = {"lk.transcription_delay": t["transcription_delay"], "lk.end_of_turn_delay": t["end_of_turn_delay"]}
    tracer.start_span("user_turn", context=root, attributes={**stt, **stages}).end()
    turn = tracer.start_span("agent_turn", context=root)
    inner = trace.set_span_in_context(turn)
    llm = {"gen_ai.provider.name": llm_provider, "gen_ai.request.model": "gpt-4o-mini"}
    node = tracer.start_span("llm_node", context=inner, attributes={**llm, "lk.response.ttft": t["ttft"]})
    usage = {"gen_ai.usage.input_tokens": t["tokens_in"], "gen_ai.usage.output_tokens": t["tokens_out"]}
    tracer.start_span("llm_request", context=trace.set_span_in_context(node), attributes={**llm, **usage}).end()
    node.end()
    tts = {"gen_ai.provider.name": "Cartesia", "gen_ai.request.model": "sonic-2"}
    node = tracer.start_span("tts_node", context=inner, attributes={**tts, "lk.response.ttfb": t["ttfb"]})
    metrics = {"characters_count": t["characters"], "metadata": {"model_provider": "Cartesia", "model_name": "sonic-2"}}
    tts_request = {"lk.tts_metrics": json.dumps(metrics)}
    tracer.start_span("tts_request", context=trace.set_span_in_context(node), attributes=tts_request).end()
    node.end()
    turn.set_attribute("lk.interrupted", interrupted)
    if version == "1.8":
        turn.set_attributes({"lk.e2e_latency": t["e2e"], **stages})
    turn.end()
    close = tracer.start_span("session_close", context=root)
    if version == "1.8":
        close.set_attribute("lk.close_reason", "participant_disconnected")
    close.end()
    session.end()
    provider.shutdown()
    return list(memory.get_finished_spans())
