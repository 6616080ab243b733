"""An OTLP/HTTP trace request body into ``ExportTraceServiceRequest``, and the replies the OTLP/HTTP spec asks for.

Decoding uses the OpenTelemetry project's own protobuf definitions (``opentelemetry-proto``).  Bounds hold before
and after: a gzip body may not inflate beyond the body limit, a request carries at most ``max_spans`` spans, and a
body protobuf or JSON cannot parse (nesting beyond the parsers' recursion limits included) is a 400.
"""

from __future__ import annotations

import base64
import zlib
from typing import Any

import orjson
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
# OTLP/JSON writes trace and span ids as hex; protobuf's JSON mapping reads bytes as base64.
_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


class OtlpRefused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def inflate(body: bytes, encoding: str, max_bytes: int) -> bytes:
    """The body without its Content-Encoding (identity or gzip), refused beyond ``max_bytes`` once inflated."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding != "gzip":
        raise OtlpRefused(415, f"Content-Encoding {encoding} is not supported: use gzip or none")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise OtlpRefused(400, f"malformed gzip body: {exc}") from None
    if len(data) > max_bytes or inflater.unconsumed_tail:
        raise OtlpRefused(413, f"the body inflates beyond {max_bytes} bytes")
    if not inflater.eof:
        raise OtlpRefused(400, "malformed gzip body: it ends early")
    return data


def _hex_ids_to_base64(data: object) -> None:
    """Rewrite OTLP/JSON's hex ids in place as protobuf JSON's base64, so ``json_format`` reads them."""
    if not isinstance(data, dict):
        raise OtlpRefused(400, "an OTLP/JSON body is an object")
    for resource_spans in _list(data, "resourceSpans"):
        for scope_spans in _list(resource_spans, "scopeSpans"):
            for span in _list(scope_spans, "spans"):
                if not isinstance(span, dict):
                    continue
                for holder in [span, *[link for link in _list(span, "links") if isinstance(link, dict)]]:
                    for key in _ID_FIELDS:
                        value = holder.get(key)
                        if isinstance(value, str) and value:
                            try:
                                holder[key] = base64.b64encode(bytes.fromhex(value)).decode()
                            except ValueError:
                                raise OtlpRefused(400, f"{key} must be hex: {value[:40]!r}") from None


def _list(holder: object, key: str) -> list[Any]:
    value = holder.get(key) if isinstance(holder, dict) else None
    return value if isinstance(value, list) else []


def decode(body: bytes, content_type: str, encoding: str, max_bytes: int, max_spans: int) -> ExportTraceServiceRequest:
    media = media_type(content_type)
    if media not in (PROTOBUF, JSON):
        raise OtlpRefused(415, f"Content-Type must be {PROTOBUF} or {JSON}")
    data = inflate(body, encoding, max_bytes)
    request = ExportTraceServiceRequest()
    try:
        if media == PROTOBUF:
            request.ParseFromString(data)
        else:
            parsed = orjson.loads(data)
            _hex_ids_to_base64(parsed)
            json_format.ParseDict(parsed, request, ignore_unknown_fields=True)
    except (DecodeError, orjson.JSONDecodeError, json_format.ParseError, RecursionError, ValueError) as exc:
        raise OtlpRefused(400, f"malformed OTLP {'protobuf' if media == PROTOBUF else 'JSON'}: {exc}") from None
    spans = sum(len(scope.spans) for resource in request.resource_spans for scope in resource.scope_spans)
    if spans > max_spans:
        raise OtlpRefused(413, f"a request carries at most {max_spans} spans, this one {spans}")
    return request


def _status_class() -> type[Message]:
    """google.rpc.Status (code, message), the body of an OTLP/HTTP error, from a descriptor of its two fields."""
    file = descriptor_pb2.FileDescriptorProto(name="voice_monitoring/otlp_status.proto", package="google.rpc")
    message = file.message_type.add(name="Status")
    message.field.add(name="code", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_INT32)
    message.field.add(name="message", number=2, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING)
    pool = descriptor_pool.DescriptorPool()  # its own pool: googleapis-common-protos may register the real one
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("google.rpc.Status"))


_Status = _status_class()
_INVALID_ARGUMENT = 3


def reply(content_type: str, rejected_spans: int = 0, message: str = "") -> tuple[bytes, str]:
    """An ExportTraceServiceResponse in the request's encoding, with partial success when spans were rejected."""
    response = ExportTraceServiceResponse()
    if rejected_spans or message:
        response.partial_success.rejected_spans = rejected_spans
        response.partial_success.error_message = message
    if media_type(content_type) == JSON:
        return orjson.dumps(json_format.MessageToDict(response)), JSON
    return response.SerializeToString(), PROTOBUF


def error_reply(content_type: str, message: str) -> tuple[bytes, str]:
    """A google.rpc.Status in the request's encoding (JSON unless the request was protobuf)."""
    if media_type(content_type) == PROTOBUF:
        return _Status(code=_INVALID_ARGUMENT, message=message).SerializeToString(), PROTOBUF
    return orjson.dumps({"code": _INVALID_ARGUMENT, "message": message}), JSON
