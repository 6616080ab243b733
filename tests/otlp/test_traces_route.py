"""POST /v1/traces on a real exporter, fed by the OpenTelemetry SDK's own OTLP/HTTP span exporter: the events a
call's spans give, once however the SDK retries or reorders its batches; hostile bodies refused and changing
nothing; spans no table maps counted by scope."""

from __future__ import annotations

import gzip

import orjson
import pytest
import requests
from google.protobuf import json_format
from google.protobuf.internal.encoder import _VarintBytes
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.otlp.spans import deadline, exposition, metric, otlp_protobuf, pipecat_call, send, served, span_of

TURNS = [
    {"latency": 0.82, "stt_ttfb": 0.09, "audio": 2.5, "llm_ttfb": 0.31, "tts_ttfb": 0.12}
    | {"tokens_in": 120, "tokens_out": 18, "characters": 40, "interrupted": True},
    {"latency": 1.05, "stt_ttfb": 0.11, "audio": 3.25, "llm_ttfb": 0.44, "tts_ttfb": 0.15}
    | {"tokens_in": 160, "tokens_out": 25, "characters": 75, "hung_up": True},
]
PROTOBUF = {"Content-Type": "application/x-protobuf"}


def assert_call_counted_once(exporter) -> None:
    assert metric(exporter, "ai_agent_calls_started_total", tenant="acme", pipeline="support-agent") == 1
    assert metric(exporter, "ai_agent_calls_ended_total", tenant="acme", pipeline="support-agent") == 1
    assert metric(exporter, "ai_agent_turns_total") == len(TURNS)
    assert metric(exporter, "ai_agent_turn_response_seconds_sum") == pytest.approx(sum(t["latency"] for t in TURNS))
    ttft = metric(exporter, "ai_agent_component_latency_seconds_sum", component="llm_ttft", provider="openai")
    assert ttft == pytest.approx(sum(t["llm_ttfb"] for t in TURNS))
    ttfb = metric(exporter, "ai_agent_component_latency_seconds_sum", component="tts_ttfb", provider="cartesia")
    assert ttfb == pytest.approx(sum(t["tts_ttfb"] for t in TURNS))
    for unit, key in (("tokens_in", "tokens_in"), ("tokens_out", "tokens_out")):
        used = metric(exporter, "ai_agent_usage_total", provider="openai", service="llm", unit=unit)
        assert used == sum(t[key] for t in TURNS)
    characters = metric(exporter, "ai_agent_usage_total", provider="cartesia", service="tts", unit="characters")
    assert characters == sum(t["characters"] for t in TURNS)
    stt = metric(exporter, "ai_agent_component_latency_seconds_sum", component="stt", provider="deepgram")
    assert stt == pytest.approx(sum(t["stt_ttfb"] for t in TURNS))
    audio = metric(exporter, "ai_agent_usage_total", provider="deepgram", service="stt", unit="audio_seconds")
    assert audio == sum(t["audio"] for t in TURNS)
    # the barge-in counts; the turn the hang-up cut short, which Pipecat marks interrupted too, does not
    assert metric(exporter, "ai_agent_interrupted_turns_total") == 1
    assert metric(exporter, "ai_agent_barge_in_events_total") == 1
    assert metric(exporter, "ai_agent_cost_usd_total", tenant="acme", provider="openai", service="llm") > 0


def test_a_call_over_several_batches_retried_and_reordered_counts_once():
    spans = pipecat_call(TURNS)
    root = [s for s in spans if s.name == "conversation"]
    children = [s for s in spans if s.name != "conversation"]
    with deadline(20), served() as (exporter, url):
        # the call's end arrives first, then its turns in two batches, the second sent twice, then everything again
        assert send(url, root) == SpanExportResult.SUCCESS
        assert send(url, children[3:]) == SpanExportResult.SUCCESS
        assert send(url, children[:3], gzip=True) == SpanExportResult.SUCCESS
        assert send(url, children[:3]) == SpanExportResult.SUCCESS
        assert send(url, spans, gzip=True) == SpanExportResult.SUCCESS
        assert_call_counted_once(exporter)
        assert metric(exporter, "ai_agent_exporter_events_duplicate_total") > 0
        assert metric(exporter, "ai_agent_exporter_otlp_spans_unmapped_total") == 0


def otlp_json(spans) -> bytes:
    """OTLP/JSON as the specification writes it: protobuf's JSON mapping with hex trace and span ids."""
    data = json_format.MessageToDict(encode_spans(spans))
    for resource in data["resourceSpans"]:
        for scope in resource["scopeSpans"]:
            for span in scope["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = __import__("base64").b64decode(span[key]).hex()
    return orjson.dumps(data)


def test_the_resources_agent_and_version_label_the_call():
    resource = {"service.name": "support-agent", "voice.agent": "support", "voice.agent_version": "v7"}
    with deadline(20), served() as (exporter, url):
        assert send(url, pipecat_call(TURNS, resource=resource)) == SpanExportResult.SUCCESS
        labels = {"agent": "support", "agent_version": "v7"}
        assert metric(exporter, "ai_agent_agent_calls_started_total", **labels) == 1
        assert metric(exporter, "ai_agent_agent_turn_response_seconds_count", agent="support") == len(TURNS)


def test_json_and_protobuf_are_the_same_call_and_replies_match_the_request():
    spans = pipecat_call(TURNS)
    with deadline(20), served() as (exporter, url):
        answer = requests.post(f"{url}/v1/traces", data=otlp_json(spans), headers={"Content-Type": "application/json"})
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
        assert answer.json() == {}
        answer = requests.post(f"{url}/v1/traces", data=otlp_protobuf(spans), headers=PROTOBUF)
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/x-protobuf"
        assert not ExportTraceServiceResponse.FromString(answer.content).HasField("partial_success")
        assert_call_counted_once(exporter)


def test_spans_refused_by_validation_are_a_partial_success():
    bad = [dict(TURNS[0], llm_ttfb=-1.0)]  # a negative TTFB the event schema refuses
    with deadline(20), served() as (exporter, url):
        answer = requests.post(f"{url}/v1/traces", data=otlp_protobuf(pipecat_call(bad)), headers=PROTOBUF)
        assert answer.status_code == 200
        partial = ExportTraceServiceResponse.FromString(answer.content).partial_success
        assert partial.rejected_spans == 1
        assert "latency" in partial.error_message and "seconds" in partial.error_message
        assert metric(exporter, "ai_agent_exporter_events_rejected_total", type="latency") == 1
        assert metric(exporter, "ai_agent_turns_total") == 1


def test_a_failed_service_span_is_an_error_event():
    with deadline(20), served() as (exporter, url):
        assert send(url, pipecat_call(TURNS[:1], error=True)) == SpanExportResult.SUCCESS
        assert metric(exporter, "ai_agent_errors_total", component="llm", kind="ratelimiterror") == 1
        assert (
            metric(exporter, "ai_agent_provider_requests_total", provider="openai", service="llm", status="error") == 1
        )


def test_a_span_of_an_unknown_framework_is_counted_and_ignored():
    with deadline(20), served() as (exporter, url):
        before = metric(exporter, "ai_agent_exporter_events_accepted_total")
        assert send(url, span_of("acme-voice-engine", "turn", {"turn.user_bot_latency_seconds": 0.5})) == (
            SpanExportResult.SUCCESS
        )
        assert send(url, span_of("pipecat", "vad_analysis")) == SpanExportResult.SUCCESS
        assert metric(exporter, "ai_agent_exporter_otlp_spans_unmapped_total", scope="acme-voice-engine") == 1
        assert metric(exporter, "ai_agent_exporter_otlp_spans_unmapped_total", scope="pipecat") == 1
        assert metric(exporter, "ai_agent_exporter_events_accepted_total") == before
        assert exporter.live_calls == 0


def test_traces_need_the_ingest_token_like_events():
    spans = pipecat_call(TURNS)
    with deadline(20), served(token="s3cret") as (exporter, url):
        assert send(url, spans) == SpanExportResult.FAILURE
        answer = requests.post(f"{url}/v1/traces", data=otlp_protobuf(spans), headers=PROTOBUF)
        assert answer.status_code == 401
        assert exporter.live_calls == 0
        assert send(url, spans, token="s3cret") == SpanExportResult.SUCCESS
        assert metric(exporter, "ai_agent_turns_total") == len(TURNS)


def _nested(depth: int) -> bytes:
    """An OTLP request whose one span's attribute is a key-value list nested ``depth`` deep."""
    request = encode_spans(pipecat_call(TURNS[:1])[:1])
    value = request.resource_spans[0].scope_spans[0].spans[0].attributes.add(key="deep").value
    for _ in range(depth):
        value = value.kvlist_value.values.add(key="k").value
    value.string_value = "bottom"
    return request.SerializeToString()


def _nested_json(depth: int) -> bytes:
    """The same as OTLP/JSON."""
    data = orjson.loads(otlp_json(pipecat_call(TURNS[:1])[:1]))
    data["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"].append({"key": "deep", "value": "DEEP"})
    value = b'{"kvlistValue":{"values":[{"key":"k","value":' * depth + b'{"stringValue":"x"}' + b"}]}}" * depth
    return orjson.dumps(data).replace(b'"DEEP"', value)


def _many_spans(count: int) -> bytes:
    """An OTLP request of ``count`` empty spans in one scope, encoded field by field (2 bytes a span)."""
    scope_spans = b"\x12\x00" * count
    resource_spans = b"\x12" + _VarintBytes(len(scope_spans)) + scope_spans
    return b"\x0a" + _VarintBytes(len(resource_spans)) + resource_spans


def _gzip_bomb(size: int) -> bytes:
    return gzip.compress(b"\x00" * size)


HOSTILE = {
    "wrong content type": (b"turns: 2", {"Content-Type": "text/plain"}, 415, "Content-Type"),
    "malformed protobuf": (b"\x0a\xff\xff\xff\xff\x0f garbage", PROTOBUF, 400, "malformed OTLP protobuf"),
    "malformed JSON": (b'{"resourceSpans": [', {"Content-Type": "application/json"}, 400, "malformed OTLP JSON"),
    "JSON with base64 ids": (
        b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"not hex!","name":"turn"}]}]}]}',
        {"Content-Type": "application/json"},
        400,
        "traceId must be hex",
    ),
    "deep attribute nesting": (_nested(5000), PROTOBUF, 400, "malformed OTLP protobuf"),
    "deep attribute nesting in JSON": (_nested_json(200), {"Content-Type": "application/json"}, 400, "malformed OTLP"),
    "deep JSON nesting": (b"[" * 100_000 + b"]" * 100_000, {"Content-Type": "application/json"}, 400, "malformed"),
    "a million spans": (_many_spans(1_000_000), PROTOBUF, 413, "at most 10000 spans"),
    "gzip bomb": (_gzip_bomb(50 * 1024 * 1024), {**PROTOBUF, "Content-Encoding": "gzip"}, 413, "inflates beyond"),
    "unknown encoding": (b"x", {**PROTOBUF, "Content-Encoding": "br"}, 415, "Content-Encoding"),
    "absurd size": (b"\x00" * (6 * 1024 * 1024), PROTOBUF, 413, "larger than"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_body_gets_a_clear_error_and_changes_nothing(case):
    body, headers, status, words = HOSTILE[case]
    with deadline(20), served() as (exporter, url):
        assert send(url, pipecat_call(TURNS)) == SpanExportResult.SUCCESS
        before = exposition(exporter)
        answer = requests.post(f"{url}/v1/traces", data=body, headers=headers, timeout=15)
        assert answer.status_code == status
        if answer.headers["Content-Type"] == "application/x-protobuf":
            from voice_monitoring.exporter.otlp.decode import _Status

            message = _Status.FromString(answer.content).message
        else:
            reply = answer.json()
            message = reply.get("message") or reply.get("error")
        assert words in message
        assert exposition(exporter) == before
