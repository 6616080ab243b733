"""ExporterServer's routes, served in this process on a loopback port: readiness as the service sets it, health
with the live calls, the exposition as the exporter renders it, and how a body the server cannot read is counted."""

from __future__ import annotations

import time

import orjson
import requests

from tests.exporter.exposition_samples import samples, value
from voice_monitoring.exporter.core import Exporter
from voice_monitoring.exporter.credentials import BEARER_REASONS, EVENTS, TRACES
from voice_monitoring.exporter.exposition import CONTENT_TYPE
from voice_monitoring.exporter.server import ExporterServer
from voice_monitoring.shared.http_service import ServerLimits

JSON = {"Content-Type": "application/json"}
NDJSON = {"Content-Type": "application/x-ndjson"}
REJECTED = "ai_agent_exporter_events_rejected_total"
AUTH_FAILURES = "ai_agent_exporter_auth_failures_total"


def url(server: ExporterServer, path: str) -> str:
    return f"http://127.0.0.1:{server.port}{path}"


def started(call_id: str) -> dict:
    return {"type": "call.started", "ts": time.time(), "call_id": call_id, "tenant": "acme", "provider": "deepgram"}


def test_ready_answers_503_until_the_service_says_it_is_ready():
    server = ExporterServer(("127.0.0.1", 0), Exporter())
    with server.running():
        starting = requests.get(url(server, "/ready"), timeout=5)
        assert (starting.status_code, starting.json()) == (503, {"status": "starting"})
        server.ready = True
        assert requests.get(url(server, "/ready"), timeout=5).json() == {"status": "ready"}


def test_health_counts_the_live_calls_and_metrics_is_the_exporters_rendering():
    exporter = Exporter()
    server = ExporterServer(("127.0.0.1", 0), exporter)
    with server.running():
        posted = requests.post(url(server, "/v1/events"), json=[started("c-1"), started("c-2")], timeout=5)
        assert posted.json() == {"accepted": 2, "duplicates": 0}
        assert requests.get(url(server, "/health"), timeout=5).json() == {"status": "ok", "live_calls": 2}
        page = requests.get(url(server, "/metrics"), timeout=5)
        assert page.headers["Content-Type"] == CONTENT_TYPE
        assert page.content == exporter.render()


def test_a_body_that_is_not_json_is_one_rejected_event_but_a_body_refused_unread_is_none():
    exporter = Exporter()
    server = ExporterServer(("127.0.0.1", 0), exporter, max_events=2, limits=ServerLimits(max_body_bytes=4096))
    with server.running():
        broken = requests.post(url(server, "/v1/events"), data=b"[{", headers=JSON, timeout=5)
        assert broken.status_code == 400 and broken.json()["error"].startswith("malformed JSON")
        assert (
            requests.post(
                url(server, "/v1/events"), data=b"[]", headers={"Content-Type": "text/csv"}, timeout=5
            ).status_code
            == 415
        )
        too_many = [started(f"c-{i}") for i in range(3)]
        assert requests.post(url(server, "/v1/events"), json=too_many, timeout=5).status_code == 413
    assert value(exporter, REJECTED, type="unknown", reason="malformed_json") == 1
    rejected = [v for (name, _), v in samples(exporter).items() if name == REJECTED]
    assert sum(rejected) == 1 and exporter.live_calls == 0


def test_ndjson_rejections_are_reported_by_line_and_json_ones_by_index():
    server = ExporterServer(("127.0.0.1", 0), Exporter())
    with server.running():
        lines = b"\n".join([b"{}", b"", b"not json", orjson.dumps(started("c-1"))])
        reply = requests.post(url(server, "/v1/events"), data=lines, headers=NDJSON, timeout=5)
        assert reply.status_code == 400
        assert [r["index"] for r in reply.json()["rejected"]] == [0, 2]
        batch = requests.post(url(server, "/v1/events"), json=[started("c-2"), {}], timeout=5)
        assert [r["index"] for r in batch.json()["rejected"]] == [1]
        assert batch.json()["accepted"] == 1


def test_with_a_token_every_bearer_refusal_of_both_ingest_routes_is_exposed_from_the_start():
    exporter = Exporter()
    ExporterServer(("127.0.0.1", 0), exporter, token="t")
    for endpoint in (EVENTS, TRACES):
        for reason in BEARER_REASONS:
            assert value(exporter, AUTH_FAILURES, endpoint=endpoint, reason=reason) == 0
    without = Exporter()
    ExporterServer(("127.0.0.1", 0), without)
    assert value(without, AUTH_FAILURES, endpoint=EVENTS, reason="missing") is None


def test_a_refused_token_is_counted_under_its_route_and_the_events_are_not_applied():
    exporter = Exporter()
    server = ExporterServer(("127.0.0.1", 0), exporter, token="t")
    with server.running():
        wrong = requests.post(
            url(server, "/v1/events"), json=[started("c-1")], headers={"Authorization": "Bearer x"}, timeout=5
        )
        assert wrong.status_code == 401
        traces = requests.post(
            url(server, "/v1/traces"), data=b"", headers={"Content-Type": "application/x-protobuf"}, timeout=5
        )
        assert traces.status_code == 401
        ok = requests.post(
            url(server, "/v1/events"), json=[started("c-2")], headers={"Authorization": "Bearer t"}, timeout=5
        )
        assert ok.json()["accepted"] == 1
    assert value(exporter, AUTH_FAILURES, endpoint=EVENTS, reason="wrong") == 1
    assert value(exporter, AUTH_FAILURES, endpoint=TRACES, reason="missing") == 1
    assert exporter.live_calls == 1


def test_the_batch_bound_also_bounds_the_spans_of_one_otlp_traces_request():
    server = ExporterServer(("127.0.0.1", 0), Exporter(), max_events=2)
    spans = {"resourceSpans": [{"scopeSpans": [{"spans": [{"name": f"s-{i}"} for i in range(3)]}]}]}
    with server.running():
        reply = requests.post(url(server, "/v1/traces"), json=spans, timeout=5)
    assert reply.status_code == 413 and "at most 2 spans" in reply.text
