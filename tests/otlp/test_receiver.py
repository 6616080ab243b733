"""SpanEvents: one OTLP request's spans become the events of their calls, built here span by span with the
OpenTelemetry protobufs: the call starts at its earliest span, each event's id is its trace, span and slot, the
session span ends the call with the reason its table reads, and what no table maps is counted, not applied."""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue

from voice_monitoring.exporter.otlp.receiver import SpanEvents, scalars

TRACE = bytes.fromhex("5b8efff798038103d269b633813fc60c")
CALL = TRACE.hex()
T0 = 1_800_000_000
ERROR = 2


def attributes(holder, values: dict) -> None:
    for key, value in values.items():
        kv = holder.add(key=key)
        if isinstance(value, bool):
            kv.value.bool_value = value
        elif isinstance(value, int):
            kv.value.int_value = value
        elif isinstance(value, float):
            kv.value.double_value = value
        else:
            kv.value.string_value = value


class Request:
    def __init__(self, resource: dict | None = None):
        self.request = ExportTraceServiceRequest()
        self.resource = self.request.resource_spans.add()
        attributes(self.resource.resource.attributes, resource or {"voice.tenant": "acme"})
        self.scopes: dict[str, object] = {}

    def span(self, name: str, start: float, end: float, scope: str = "livekit-agents", span_id: int = 1, **attrs):
        scope_spans = self.scopes.get(scope)
        if scope_spans is None:
            scope_spans = self.scopes[scope] = self.resource.scope_spans.add()
            scope_spans.scope.name = scope
        span = scope_spans.spans.add(name=name, trace_id=TRACE, span_id=span_id.to_bytes(8, "big"))
        span.start_time_unix_nano, span.end_time_unix_nano = int(start * 1e9), int(end * 1e9)
        attributes(span.attributes, attrs)
        return span

    def events(self, known_calls=()) -> tuple[SpanEvents, list[dict]]:
        span_events = SpanEvents({call: None for call in known_calls})
        span_events.add_request(self.request)
        return span_events, span_events.batch()[0]


def test_scalars_keeps_strings_booleans_integers_and_doubles_only():
    kvs = [KeyValue(key="s"), KeyValue(key="b"), KeyValue(key="i"), KeyValue(key="d"), KeyValue(key="a")]
    kvs[0].value.string_value, kvs[1].value.bool_value, kvs[2].value.int_value = "x", True, 7
    kvs[3].value.double_value = 0.5
    kvs[4].value.array_value.values.add().string_value = "nested"
    assert scalars(kvs) == {"s": "x", "b": True, "i": 7, "d": 0.5}


def test_the_call_starts_at_its_earliest_span_with_the_resources_labels_and_each_event_is_named_by_its_span():
    request = Request({"voice.tenant": "acme", "service.name": "support-bot", "voice.agent": "a" * 200})
    request.span("agent_turn", T0 + 5, T0 + 6, span_id=2, **{"lk.e2e_latency": 0.8})
    request.span("agent_turn", T0 + 1, T0 + 2, span_id=3, **{"lk.e2e_latency": 1.2, "lk.interrupted": True})
    _, events = request.events()
    started, *rest = events
    assert started == {
        "type": "call.started",
        "id": f"{CALL}:call.started",
        "ts": T0 + 1,
        "call_id": CALL,
        "tenant": "acme",
        "pipeline": "support-bot",
        "agent": "a" * 128,
    }
    assert [(e["type"], e["id"]) for e in rest] == [
        ("turn", f"{CALL}:{(2).to_bytes(8, 'big').hex()}:turn"),
        ("turn", f"{CALL}:{(3).to_bytes(8, 'big').hex()}:turn"),
        ("interruption", f"{CALL}:{(3).to_bytes(8, 'big').hex()}:barge_in"),
    ]
    assert rest[0]["ts"] == T0 + 6 and rest[0]["attrs"] == {"latency_seconds": 0.8}


def test_a_call_already_live_is_not_started_again_and_a_default_service_name_is_no_pipeline():
    request = Request({"service.name": "unknown_service:python"})
    request.span("agent_turn", T0, T0 + 1, **{"lk.e2e_latency": 0.8})
    _, events = request.events(known_calls=[CALL])
    assert [e["type"] for e in events] == ["turn"] and "pipeline" not in events[0]


def test_a_span_missing_a_required_attribute_gives_no_event():
    request = Request()
    request.span("agent_turn", T0, T0 + 1, **{"lk.end_of_turn_delay": 0.2})
    _, events = request.events()
    assert [e["type"] for e in events] == ["call.started"]


def test_the_session_span_ends_the_call_last_with_the_reason_its_close_span_gave():
    request = Request()
    request.span("agent_session", T0, T0 + 90, span_id=1)
    request.span("session_close", T0 + 89, T0 + 90, span_id=2, **{"lk.close_reason": "participant_disconnected"})
    request.span("agent_turn", T0 + 3, T0 + 4, span_id=3, **{"lk.e2e_latency": 0.8})
    _, events = request.events()
    assert [e["type"] for e in events] == ["call.started", "turn", "call.ended"]
    assert events[-1]["attrs"] == {
        "duration_seconds": 90.0,
        "reason": "participant_disconnected",
        "end_reason": "user_hangup",
    }


def test_a_session_without_a_reason_takes_the_tables_default_and_a_failed_one_ends_in_error():
    request = Request()
    request.span("agent_session", T0, T0 + 10).status.code = ERROR
    _, events = request.events()
    assert events[-1]["attrs"] == {"duration_seconds": 10.0, "reason": "session_closed", "end_reason": "error"}


def test_a_failed_service_span_adds_an_error_event_for_its_service():
    request = Request()
    span = request.span("tts_node", T0, T0 + 1, **{"lk.response.ttfb": 0.3, "error.type": "TimeoutError"})
    span.status.code = ERROR
    _, events = request.events()
    assert [(e["type"], e["attrs"].get("component")) for e in events[1:]] == [("latency", "tts_ttfb"), ("error", "tts")]
    assert events[-1]["attrs"] == {"component": "tts", "kind": "timeouterror", "service": "tts"}  # as a label


def test_spans_no_table_maps_are_counted_by_scope_and_malformed_ids_are_refused_by_position():
    request = Request()
    request.span("agent_turn", T0, T0 + 1, scope="some.other.library")
    request.span("unmapped_span", T0, T0 + 1)
    bad = request.span("agent_turn", T0, T0 + 1, **{"lk.e2e_latency": 0.8})
    bad.trace_id = b"short"
    span_events, events = request.events()
    assert dict(span_events.unmapped) == {"some.other.library": 1, "livekit-agents": 1}
    assert span_events.invalid_spans == [(2, "a span needs a 16-byte trace id and an 8-byte span id")]
    assert events == []
