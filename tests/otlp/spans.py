"""Spans shaped like a framework's, made with the OpenTelemetry SDK and sent through its OTLP/HTTP exporter."""

from __future__ import annotations

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

from voice_monitoring.exporter.mapping import Exporter
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
        span.set_attribute("turn.was_interrupted", turn.get("interrupted", False))
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
