"""decode: an OTLP/HTTP trace body in either encoding, with or without gzip, bounded before and after parsing;
reply and error_reply in the request's encoding."""

from __future__ import annotations

import gzip

import orjson
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from voice_monitoring.exporter.otlp.decode import (
    JSON,
    PROTOBUF,
    OtlpRefused,
    _Status,
    decode,
    error_reply,
    inflate,
    media_type,
    reply,
)

TRACE_ID = "5b8efff798038103d269b633813fc60c"
SPAN_ID = "eee19b7ec3c1b174"
LINKED_SPAN_ID = "0102030405060708"


def request_of(spans: int) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for i in range(spans):
        scope.spans.add(name=f"span-{i}")
    return request


def refused(*args) -> OtlpRefused:
    with pytest.raises(OtlpRefused) as caught:
        decode(*args)
    return caught.value


def test_media_type_ignores_parameters_case_and_spaces():
    assert media_type(" Application/JSON ; charset=utf-8") == JSON
    assert media_type(PROTOBUF) == PROTOBUF


@pytest.mark.parametrize("encoding", ["", "identity", " IDENTITY "])
def test_an_unencoded_body_is_passed_as_it_is_whatever_its_size(encoding):
    assert inflate(b"x" * 100, encoding, 10) == b"x" * 100


def test_gzip_inflates_up_to_the_limit_exactly_and_is_refused_one_byte_beyond():
    assert inflate(gzip.compress(b"a" * 1000), "gzip", 1000) == b"a" * 1000
    with pytest.raises(OtlpRefused) as caught:
        inflate(gzip.compress(b"a" * 1001), " GZip", 1000)
    assert caught.value.status == 413 and "inflates beyond 1000 bytes" in str(caught.value)


@pytest.mark.parametrize(
    "body, words", [(gzip.compress(b"a" * 1000)[:-12], "ends early"), (b"not gzip at all", "malformed gzip body")]
)
def test_a_broken_or_truncated_gzip_body_is_400(body, words):
    with pytest.raises(OtlpRefused) as caught:
        inflate(body, "gzip", 10_000)
    assert caught.value.status == 400 and words in str(caught.value)


def test_an_encoding_other_than_gzip_is_415():
    with pytest.raises(OtlpRefused) as caught:
        inflate(b"x", "deflate", 100)
    assert caught.value.status == 415 and "deflate" in str(caught.value)


def test_a_protobuf_body_decodes_to_its_spans():
    decoded = decode(request_of(3).SerializeToString(), PROTOBUF, "", 1000, 10)
    assert [s.name for s in decoded.resource_spans[0].scope_spans[0].spans] == ["span-0", "span-1", "span-2"]


def test_json_hex_ids_of_spans_and_their_links_become_the_ids_bytes():
    span = {"traceId": TRACE_ID, "spanId": SPAN_ID, "parentSpanId": "", "name": "turn"}
    span["links"] = [{"traceId": TRACE_ID, "spanId": LINKED_SPAN_ID}]
    body = orjson.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}], "unknownField": 1})
    decoded = decode(body, "application/json; charset=utf-8", "", 10_000, 10).resource_spans[0].scope_spans[0].spans[0]
    assert decoded.trace_id.hex() == TRACE_ID and decoded.span_id.hex() == SPAN_ID
    assert decoded.parent_span_id == b""
    assert decoded.links[0].span_id.hex() == LINKED_SPAN_ID


def test_the_span_limit_counts_every_scope_and_is_inclusive():
    request = request_of(2)
    request.resource_spans.add().scope_spans.add().spans.add(name="third")
    body = request.SerializeToString()
    assert decode(body, PROTOBUF, "", 10_000, 3)
    caught = refused(body, PROTOBUF, "", 10_000, 2)
    assert caught.status == 413 and str(caught) == "a request carries at most 2 spans, this one 3"


@pytest.mark.parametrize(
    "body, content_type, status, words",
    [
        (b"{}", "text/plain", 415, "Content-Type must be"),
        (b"[]", JSON, 400, "an OTLP/JSON body is an object"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "zz"}]}]}]}', JSON, 400, "spanId must be hex"),
        (b'{"resourceSpans": 5}', JSON, 400, "malformed OTLP JSON"),
        (b"\x0a\x05\x12", PROTOBUF, 400, "malformed OTLP protobuf"),
    ],
)
def test_what_cannot_be_a_trace_request_is_refused_with_its_status(body, content_type, status, words):
    caught = refused(body, content_type, "", 10_000, 10)
    assert caught.status == status and words in str(caught)


def test_a_gzip_body_decodes_like_the_plain_one():
    body = request_of(2).SerializeToString()
    assert decode(gzip.compress(body), PROTOBUF, "gzip", 10_000, 10) == decode(body, PROTOBUF, "", 10_000, 10)


def test_a_full_success_is_an_empty_response_in_the_requests_encoding():
    protobuf, protobuf_type = reply(PROTOBUF)
    assert protobuf_type == PROTOBUF and ExportTraceServiceResponse.FromString(protobuf) == ExportTraceServiceResponse()
    assert reply("application/json; charset=utf-8") == (b"{}", JSON)


def test_rejected_spans_are_a_partial_success_in_the_requests_encoding():
    body, _ = reply(PROTOBUF, rejected_spans=2, message="2 spans refused")
    partial = ExportTraceServiceResponse.FromString(body).partial_success
    assert (partial.rejected_spans, partial.error_message) == (2, "2 spans refused")
    body, _ = reply(JSON, rejected_spans=2, message="2 spans refused")
    assert orjson.loads(body) == {"partialSuccess": {"rejectedSpans": "2", "errorMessage": "2 spans refused"}}


def test_an_error_is_a_status_with_invalid_argument_in_protobuf_for_protobuf_and_json_otherwise():
    body, content_type = error_reply(PROTOBUF, "bad body")
    status = _Status.FromString(body)
    assert content_type == PROTOBUF and (status.code, status.message) == (3, "bad body")
    assert error_reply("text/plain", "bad body") == (orjson.dumps({"code": 3, "message": "bad body"}), JSON)
