"""Nothing a client sends can crash the exporter, corrupt /metrics, or be counted twice."""

import json
import socket
import time

import pytest
import requests

from tests.harness import post_events, promtool_lint, start_exporter

pytestmark = pytest.mark.binaries


def metrics_text(url: str) -> str:
    response = requests.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200
    return response.text


def assert_metrics_clean(url: str) -> str:
    """/metrics parses and promtool has no lint advice for it."""
    text = metrics_text(url)
    assert promtool_lint(text) == ""
    return text


def sample(text: str, name: str, **labels) -> float | None:
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return None


def turn(call_id="c-1", latency=0.5, **extra):
    return {
        "type": "turn",
        "ts": time.time(),
        "call_id": call_id,
        "provider": "deepgram",
        "attrs": {"latency_seconds": latency},
        **extra,
    }


def post_raw(url, body: bytes, content_type="application/json", headers=None):
    return requests.post(
        f"{url}/v1/events", data=body, headers={"Content-Type": content_type, **(headers or {})}, timeout=10
    )


def test_a_mixed_batch_applies_the_valid_events_once_and_names_each_rejected_one(exporter):
    batch = [
        turn(),
        {"type": "turn", "ts": time.time(), "call_id": "c-1", "attrs": {"latency_seconds": -0.2}},
        turn(),
        "not an event",
        {"type": "teleport", "ts": time.time()},
    ]
    response = post_events(exporter.url, batch)
    assert response.status_code == 400
    body = response.json()
    assert body["accepted"] == 2
    assert [r["index"] for r in body["rejected"]] == [1, 3, 4]
    assert "latency_seconds must be >= 0" in body["rejected"][0]["error"]
    text = metrics_text(exporter.url)
    assert sample(text, "ai_agent_turn_response_seconds_count", provider="deepgram") == 2
    assert sample(text, "ai_agent_exporter_events_rejected_total", type="turn", reason="invalid_field") == 1
    assert sample(text, "ai_agent_exporter_events_rejected_total", type="unknown", reason="unknown_type") == 1


@pytest.mark.parametrize(
    "body, status",
    [
        (b'{"type": "turn", ', 400),
        (b'[{"type": "turn", "ts": NaN}]', 400),
        (b'{"type": "turn", "ts": Infinity}', 400),
        (b'{"type": "turn", "ts": 1e999}', 400),
        (b"[" * 100000 + b"]" * 100000, 400),
        (b"\xff\xfe", 400),
    ],
)
def test_malformed_json_is_refused_whole(exporter, body, status):
    response = post_raw(exporter.url, body)
    assert response.status_code == status
    assert "malformed JSON" in response.json()["error"]
    assert requests.get(f"{exporter.url}/health", timeout=5).status_code == 200


def test_wrong_content_type_is_415(exporter):
    response = post_raw(exporter.url, json.dumps(turn()).encode(), content_type="text/plain")
    assert response.status_code == 415


def test_a_body_over_the_limit_is_413_and_nothing_is_applied(tmp_path):
    with start_exporter(tmp_path, "--max-body-bytes", "2000", "--max-batch", "5") as service:
        big = post_events(service.url, [turn(call_id=f"c-{i}") for i in range(50)])
        assert big.status_code == 413
        many = post_events(service.url, [turn(call_id=f"c-{i}") for i in range(6)])
        assert many.status_code == 413 and "at most 5 events" in many.json()["error"]
        text = metrics_text(service.url)
        assert sample(text, "ai_agent_turn_response_seconds_count", provider="deepgram") is None


def test_ndjson_applies_good_lines_and_reports_broken_ones_by_line(exporter):
    lines = [
        json.dumps(turn()),
        "{broken",
        json.dumps(turn()),
        "",
        json.dumps({"type": "turn", "ts": time.time(), "call_id": "c", "attrs": {}}),
    ]
    response = post_raw(exporter.url, "\n".join(lines).encode(), content_type="application/x-ndjson")
    assert response.status_code == 400
    body = response.json()
    assert body["accepted"] == 2
    assert [(r["index"], r["error"][:14]) for r in body["rejected"]] == [(1, "malformed JSON"), (4, "attrs.latency_")]


def test_a_token_when_configured_is_required(tmp_path):
    with start_exporter(tmp_path, env={"EXPORTER_TOKEN": "s3cret"}) as service:
        assert post_events(service.url, [turn()]).status_code == 401
        assert post_events(service.url, [turn()], token="wrong").status_code == 401
        assert post_events(service.url, [turn()], token="s3cret").status_code == 200
        assert requests.get(f"{service.url}/metrics", timeout=5).status_code == 200


def test_hostile_label_values_keep_metrics_valid(exporter):
    nasty = ['quote " and backslash \\', "new\nline", "unicode ☎️ 通话", "}{,=", "x" * 128]
    batch = [
        {"type": "call.started", "ts": time.time(), "call_id": f"call-{i}", "tenant": v, "provider": v, "pipeline": v}
        for i, v in enumerate(nasty)
    ]
    batch += [turn(call_id=f"call-{i}") for i in range(len(nasty))]
    batch.append(turn(call_id="c", provider="y" * 129))
    response = post_events(exporter.url, batch)
    body = response.json()
    assert body["accepted"] == 2 * len(nasty)
    assert body["rejected"][0]["error"] == "provider must be at most 128 characters"
    text = assert_metrics_clean(exporter.url)
    assert sample(text, "ai_agent_calls_started_total", tenant="new\nline") == 1


@pytest.mark.parametrize("ts_offset, reason", [(-7200, "in the past"), (3600, "in the future")])
def test_timestamps_far_from_now_are_refused(exporter, ts_offset, reason):
    event = turn()
    event["ts"] = time.time() + ts_offset
    response = post_events(exporter.url, [event])
    assert response.status_code == 400
    assert reason in response.json()["rejected"][0]["error"]


@pytest.mark.parametrize(
    "attrs, error",
    [
        ({"latency_seconds": "fast"}, "must be a number"),
        ({"latency_seconds": True}, "must be a number"),
        ({"latency_seconds": 0.5, "mood": "happy"}, "unknown attribute"),
    ],
)
def test_odd_values_are_refused_with_a_reason(exporter, attrs, error):
    event = turn()
    event["attrs"] = attrs
    body = post_raw(exporter.url, json.dumps(event).encode()).json()
    assert error in body["rejected"][0]["error"]


def test_a_retried_event_id_is_counted_once(exporter):
    event = turn(id="evt-1")
    assert post_events(exporter.url, [event, event]).json() == {"accepted": 1, "duplicates": 1}
    assert post_events(exporter.url, [event]).json() == {"accepted": 0, "duplicates": 1}
    text = metrics_text(exporter.url)
    assert sample(text, "ai_agent_turn_response_seconds_count", provider="deepgram") == 1
    assert sample(text, "ai_agent_exporter_events_duplicate_total", type="turn") == 2


def test_label_values_beyond_the_limit_fold_into_other(tmp_path):
    with start_exporter(tmp_path, "--label-limit", "3") as service:
        batch = [
            {
                "type": "call.started",
                "ts": time.time(),
                "call_id": f"c{i}",
                "tenant": f"t{i}",
                "provider": "p",
                "pipeline": "x",
            }
            for i in range(6)
        ]
        assert post_events(service.url, batch).status_code == 200
        text = metrics_text(service.url)
        assert sample(text, "ai_agent_calls_started_total", tenant="other") == 3
        assert sample(text, "ai_agent_calls_started_total", tenant="t2") == 1
        assert sample(text, "ai_agent_exporter_label_values_folded_total", label="tenant") == 3


def test_a_huge_batch_of_valid_events_is_applied_exactly(exporter):
    batch = [turn(call_id=f"c-{i % 100}", latency=0.1 + (i % 7) / 10) for i in range(10_000)]
    response = post_events(exporter.url, batch)
    assert response.json() == {"accepted": 10_000, "duplicates": 0}
    text = metrics_text(exporter.url)
    assert sample(text, "ai_agent_turn_response_seconds_count", provider="deepgram") == 10_000
    assert sample(text, "ai_agent_call_turns", call_id="c-7") == 100


def test_unknown_paths_and_methods_do_not_crash(exporter):
    assert requests.get(f"{exporter.url}/nope", timeout=5).status_code == 404
    assert requests.post(f"{exporter.url}/v2/events", json=[], timeout=5).status_code == 404
    host, port = exporter.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n2\r\n[]\r\n0\r\n\r\n"
        )
        assert sock.recv(200).startswith(b"HTTP/1.1 411")
    assert requests.get(f"{exporter.url}/ready", timeout=5).json() == {"status": "ready"}


def minimal_event(etype: str) -> dict:
    """The smallest valid event of a type: its required attributes only, call_id only where required."""
    from voice_monitoring.exporter import events

    samples = {"number": 1, "integer": 1, "boolean": True, "string": "x"}
    attrs = {
        key: (field.choices[0] if field.kind == "enum" else samples[field.kind])
        for key, field in events.TYPES[etype].items()
        if field.required
    }
    event = {"type": etype, "ts": time.time(), "attrs": attrs}
    if etype == "health":
        event["attrs"] = {"worker": "w", "memory_ratio": 0.5}
    if etype in events.CALL_SCOPED:
        # Feedback rates a call the exporter knows: the one the minimal call.started opens.
        event["call_id"] = "minimal-call.started" if etype == "feedback" else f"minimal-{etype}"
    return event


def test_the_minimal_event_of_every_type_is_accepted_and_call_scoped_types_need_a_call(exporter):
    from voice_monitoring.exporter import events

    batch = [minimal_event(t) for t in events.TYPES]
    assert post_events(exporter.url, batch).json() == {"accepted": len(batch), "duplicates": 0}
    for etype in events.CALL_SCOPED:
        event = minimal_event(etype)
        del event["call_id"]
        body = post_events(exporter.url, [event]).json()
        assert body["rejected"] == [{"index": 0, "error": f"call_id is required for {etype}"}]
    assert_metrics_clean(exporter.url)


def test_a_negative_content_length_is_refused(exporter):
    host, port = exporter.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n[]"
        )
        assert sock.recv(200).split(b" ", 2)[1] == b"400"
    assert requests.get(f"{exporter.url}/health", timeout=5).status_code == 200


def test_blank_ndjson_lines_do_not_count_against_the_batch_limit(tmp_path):
    with start_exporter(tmp_path, "--max-batch", "2") as service:
        body = ("\n" * 50 + json.dumps(turn()) + "\n\n").encode()
        response = post_raw(service.url, body, content_type="application/x-ndjson")
        assert response.json() == {"accepted": 1, "duplicates": 0}
