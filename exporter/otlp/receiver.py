"""``POST /v1/traces``: OTLP/HTTP spans in, the events of the mapping tables applied through the exporter.

A call's spans arrive over many requests, each span once it has ended.  The first request that carries a span of a
trace the exporter does not hold starts the call (``call.started`` at the earliest start among that request's spans
of the trace); the framework's session span ends it (``call.ended``, the span's duration).  Every event has an id made
of the trace, the span and the event's place in the span, so a retried or reordered request applies nothing twice;
the events go through the same validation, dedup and expiry as events posted to /v1/events.  A span whose events are
refused is reported back as rejected (OTLP partial success); spans no table maps are counted by scope.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from voice_monitoring.client.call import label
from voice_monitoring.exporter.core import Exporter
from voice_monitoring.exporter.otlp import decode
from voice_monitoring.exporter.otlp.tables import (
    AGENT_ATTRIBUTE,
    AGENT_VERSION_ATTRIBUTE,
    BY_SCOPE,
    PIPELINE_ATTRIBUTE,
    TENANT_ATTRIBUTE,
    Emit,
    Table,
)

log = logging.getLogger("voice-exporter")

_SCALARS = frozenset({"string_value", "bool_value", "int_value", "double_value"})
_STATUS_ERROR = 2  # Status.STATUS_CODE_ERROR
_MAX_LABEL = 128
_MAX_DURATION = 86400.0
_ERRORS_REPORTED = 3  # refusals quoted in a partial success message


def scalars(key_values: Iterable[KeyValue]) -> dict[str, object]:
    """The string, boolean, integer and double attributes; arrays and nested values are not read."""
    out: dict[str, object] = {}
    for kv in key_values:
        value = kv.value
        kind = value.WhichOneof("value")
        if kind in _SCALARS:
            out[kv.key] = getattr(value, kind)
    return out


def _labels(resource: Mapping[str, object]) -> dict[str, str]:
    labels = {}
    tenant = resource.get(TENANT_ATTRIBUTE)
    pipeline = resource.get(PIPELINE_ATTRIBUTE) or resource.get("service.name")
    if isinstance(tenant, str) and tenant:
        labels["tenant"] = tenant[:_MAX_LABEL]
    if isinstance(pipeline, str) and pipeline and not pipeline.startswith("unknown_service"):
        labels["pipeline"] = pipeline[:_MAX_LABEL]
    for key, attribute in (("agent", AGENT_ATTRIBUTE), ("agent_version", AGENT_VERSION_ATTRIBUTE)):
        value = resource.get(attribute)
        if isinstance(value, str) and value:
            labels[key] = value[:_MAX_LABEL]
    return labels


def _emit(emit: Emit, attrs: Mapping[str, object], seconds: float) -> dict[str, object] | None:
    if emit.when is not None and emit.when.value(attrs, seconds) is not True:
        return None
    values: dict[str, object] = {}
    for key, source in emit.attrs.items():
        value = source.value(attrs, seconds)
        if value is not None:
            values[key] = value
    if any(key not in values for key in emit.required):
        return None
    return values


class SpanEvents:
    """The events of one request's spans, in the order they apply: calls started, then what happened, then ends."""

    def __init__(self, known_calls: Mapping[str, object]):
        self.known_calls = known_calls
        self.started: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.ended: list[dict[str, Any]] = []
        self.spans: list[int] = []  # the span (its position in the request) each event comes from
        self.ended_spans: list[int] = []
        self.unmapped: Counter[str] = Counter()
        self.invalid_spans: list[tuple[int, str]] = []
        self.reasons: dict[str, str] = {}  # call -> the end reason a reason span of the request gave
        self.ending: dict[int, Table] = {}  # call.ended event (its place in ``ended``) -> its table

    def add_request(self, request: ExportTraceServiceRequest) -> None:
        position = 0
        for resource_spans in request.resource_spans:
            labels = _labels(scalars(resource_spans.resource.attributes))
            for scope_spans in resource_spans.scope_spans:
                scope = scope_spans.scope.name
                table = BY_SCOPE.get(scope)
                for span in scope_spans.spans:
                    self._add_span(position, span, table, scope, labels)
                    position += 1

    def _add_span(self, position: int, span: Span, table: Table | None, scope: str, labels: dict[str, str]) -> None:
        name = span.name
        row = table.rows.get(name) if table is not None else None
        session = table is not None and name == table.session.span
        if table is not None and name == table.session.reason_span:
            reason = table.session.reason.value(scalars(span.attributes), 0.0)
            if isinstance(reason, str) and reason and len(span.trace_id) == 16:
                self.reasons[span.trace_id.hex()] = reason
            return
        if row is None and not session:
            self.unmapped[scope[:_MAX_LABEL] or "unknown"] += 1
            return
        if len(span.trace_id) != 16 or len(span.span_id) != 8:
            self.invalid_spans.append((position, "a span needs a 16-byte trace id and an 8-byte span id"))
            return
        call_id = span.trace_id.hex()
        key = f"{call_id}:{span.span_id.hex()}:"
        start, end = span.start_time_unix_nano / 1e9, span.end_time_unix_nano / 1e9
        seconds = end - start
        attrs = scalars(span.attributes)
        envelope: dict[str, Any] = {"ts": end, "call_id": call_id, **labels}
        provider = model = None
        if table is not None and row is not None and row.service is not None:
            provider, model = table.vendor(row.service, attrs)
        self._start(call_id, start, labels, provider if row is not None and row.service == "llm" else None)
        if provider:
            envelope["provider"] = provider
        if model:
            envelope["model"] = label(model)
        if row is not None:
            for emit in row.emits:
                values = _emit(emit, attrs, seconds)
                if values is not None:
                    self.events.append({"type": emit.type, "id": key + emit.slot, **envelope, "attrs": values})
                    self.spans.append(position)
            if row.service is not None and span.status.code == _STATUS_ERROR:
                kind = label(attrs.get("error.type")) or "error"
                error = {"component": row.service, "kind": kind, "service": row.service}
                self.events.append({"type": "error", "id": key + "error", **envelope, "attrs": error})
                self.spans.append(position)
        if session and table is not None:
            self.ended.append(self._end(table, span, attrs, seconds, {**envelope, "id": key + "call.ended"}))
            self.ended_spans.append(position)
            self.ending[len(self.ended) - 1] = table

    def _start(self, call_id: str, start: float, labels: dict[str, str], llm_vendor: str | None) -> None:
        if call_id in self.known_calls:
            return
        started = self.started.get(call_id)
        if started is None:
            started = self.started[call_id] = {
                "type": "call.started",
                "id": f"{call_id}:call.started",
                "ts": start,
                "call_id": call_id,
                **labels,
            }
        elif start < started["ts"]:
            started["ts"] = start
        if llm_vendor and "provider" not in started:
            started["provider"] = llm_vendor

    @staticmethod
    def _end(
        table: Table, span: Span, attrs: Mapping[str, object], seconds: float, envelope: dict[str, Any]
    ) -> dict[str, Any]:
        raw = table.session.reason.value(attrs, seconds)
        ended: dict[str, Any] = {
            "duration_seconds": min(seconds, _MAX_DURATION),
            "reason": raw if isinstance(raw, str) else "",
        }
        if span.status.code == _STATUS_ERROR:
            ended["end_reason"] = "error"
        envelope.pop("provider", None)
        envelope.pop("model", None)
        return {"type": "call.ended", **envelope, "attrs": ended}

    def _settle_reasons(self) -> None:
        for index, table in self.ending.items():
            attrs = self.ended[index]["attrs"]
            raw = attrs["reason"] or self.reasons.get(self.ended[index]["call_id"]) or table.session.default
            attrs["reason"] = raw[:_MAX_LABEL]
            if "end_reason" not in attrs and raw in table.session.reasons:
                attrs["end_reason"] = table.session.reasons[raw]

    def batch(self) -> tuple[list[dict[str, Any]], list[int | None]]:
        """The events in the order they apply, and each one's span (None for a call.started)."""
        self._settle_reasons()
        started = list(self.started.values())
        events = started + self.events + self.ended
        spans: list[int | None] = [*([None] * len(started)), *self.spans, *self.ended_spans]
        return events, spans


class TracesReceiver:
    """The ``POST /v1/traces`` handler: ``(headers, body) -> (status, body, content type)``."""

    def __init__(self, exporter: Exporter, max_spans: int, max_bytes: int):
        self.exporter = exporter
        self.max_spans = max_spans
        self.max_bytes = max_bytes

    def __call__(self, headers: Mapping[str, str], body: bytes) -> tuple[int, bytes, str]:
        content_type = headers.get("Content-Type", "")
        try:
            request = decode.decode(
                body, content_type, headers.get("Content-Encoding", ""), self.max_bytes, self.max_spans
            )
        except decode.OtlpRefused as exc:
            log.warning("OTLP traces refused (%d): %s", exc.status, exc)
            return (exc.status, *decode.error_reply(content_type, str(exc)))
        rejected, message = self.apply(request)
        return (200, *decode.reply(content_type, rejected, message))

    def apply(self, request: ExportTraceServiceRequest) -> tuple[int, str]:
        """Map and apply one request's spans; returns the spans rejected and why (the first few)."""
        exporter = self.exporter
        mapped = SpanEvents(exporter.registry.calls)
        mapped.add_request(request)
        events, spans = mapped.batch()
        _, _, rejections = exporter.ingest(events) if events else (0, 0, [])
        if mapped.unmapped:
            with exporter.lock:
                for scope, count in mapped.unmapped.items():
                    scope = exporter.label("scope", scope)
                    exporter.fleet.counter("ai_agent_exporter_otlp_spans_unmapped_total", scope).inc(count)
        problems: dict[int | None, str] = dict(mapped.invalid_spans)
        for rejection in rejections:
            event = events[rejection["index"]]
            problems.setdefault(spans[rejection["index"]], f"{event['type']}: {rejection['error']}")
        rejected = sum(1 for span in problems if span is not None)
        if not problems:
            return 0, ""
        quoted = "; ".join(list(problems.values())[:_ERRORS_REPORTED])
        return rejected, f"{rejected} spans rejected: {quoted}"
