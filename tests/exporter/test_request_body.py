"""Reading a request body into events: limits apply while parsing, before a huge body becomes objects."""

import tracemalloc

import orjson
import pytest

from voice_monitoring.exporter.request_body import BadRequest, parse_body

MIB = 1024 * 1024


def peak_mib_of(fn) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / MIB
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"[" + b"{}," * 1_600_000 + b"{}]", "application/json"),
        (b"{}\n" * 1_600_000, "application/x-ndjson"),
        (b"[" + b"1," * 2_400_000 + b"1]", "application/json"),
    ],
    ids=["json-array-of-empty-objects", "ndjson-of-empty-objects", "json-array-of-numbers"],
)
def test_the_batch_limit_applies_before_a_huge_body_is_materialised(body, content_type):
    def parse():
        with pytest.raises(BadRequest) as refused:
            parse_body(body, content_type, 10_000)
        assert refused.value.status == 413

    assert peak_mib_of(parse) < 16


def test_a_batch_at_the_limit_is_parsed_whole():
    body = b"[" + b",".join(b'{"n": %d}' % i for i in range(10_000)) + b"]"
    events = parse_body(body, "application/json", 10_000)[0]
    assert [e["n"] for e in events] == list(range(10_000))


@pytest.mark.parametrize(
    "body",
    [b'[{"a": 1}, NaN]', b"[1e999]", b'[{"a": 1}', b"[1,]", b"[\xff]", b"[" * 5000 + b"]" * 5000, b'[{"a": 1}] x'],
)
def test_a_malformed_large_array_is_refused_whole(body):
    padded = body if len(body) > 100 else body.replace(b"[", b"[" + b"{}," * 20_000, 1)
    with pytest.raises(BadRequest) as refused:
        parse_body(padded, "application/json", 100_000)
    assert refused.value.status == 400 and "malformed JSON" in str(refused.value)


@pytest.mark.parametrize(
    "body, content_type, checked",
    [
        (b'[{"type":"turn","ts":1,"call_id":"c","attrs":{"latency_seconds":0.5}}]', "application/json", True),
        (b'{"type":"turn","ts":1,"call_id":"c","attrs":{"latency_seconds":0.5}}', "application/json", True),
        (b'[{"type":"turn","ts":1,"call_id":"c","attrs":{"latency_seconds":-1}}]', "application/json", False),
        (b'{"type":"turn","ts":1,"call_id":"c","attrs":{"latency_seconds":0.5}}\n' * 2, "application/x-ndjson", True),
        (
            b'{"type":"turn","ts":1,"call_id":"c","attrs":{"latency_seconds":0.5}}\n{"type":"turn"}\n',
            "application/x-ndjson",
            False,
        ),
        (b'{"type":"turn","ts":1,"call_id":"c","attrs":{"latency_seconds":0.5}}\n{"t\n', "application/x-ndjson", False),
    ],
    ids=[
        "json array",
        "one json event",
        "json array with an invalid event",
        "ndjson",
        "ndjson with an invalid line",
        "ndjson with an unparsable line",
    ],
)
def test_only_a_body_whose_every_event_passes_the_compiled_check_is_marked_checked(body, content_type, checked):
    parsed = parse_body(body, content_type, 10)
    assert parsed.fields_checked is checked
    if content_type == "application/x-ndjson":  # the events are the lines as a JSON parser reads them
        assert [e if isinstance(e, dict) else None for e in parsed.events] == [
            json_or_none(line) for line in body.splitlines()
        ]


def json_or_none(line: bytes):
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
