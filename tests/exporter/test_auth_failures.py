"""Requests refused for their credentials, on a running exporter with an ingest token and both webhook secrets:
each counted once under its endpoint and reason, nothing sent ever recorded, and a flood of them harmless."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.exporter.clocked_exporter import Clock, make
from tests.harness import start_exporter
from tests.webhooks import fixtures as fx
from voice_monitoring.exporter.credentials import BEARER_REASONS, EVENTS, REASONS, TRACES
from voice_monitoring.exporter.webhooks.receiver import AUTH_LOG_INTERVAL_SECONDS, WebhookReceiver
from voice_monitoring.exporter.webhooks.vapi import VapiAuth, VapiMessages
from voice_monitoring.shared import catalogue

METRIC = "ai_agent_exporter_auth_failures_total"
TOKEN = "ingest-token-5f0c"
VAPI_SECRET = "vapi-secret-9d21"
RETELL_KEY = "key_retell_77a3"
ENV = {"EXPORTER_TOKEN": TOKEN, "VAPI_WEBHOOK_SECRET": VAPI_SECRET, "RETELL_API_KEY": RETELL_KEY}
PATHS = {EVENTS: "/v1/events", TRACES: "/v1/traces", "vapi": "/v1/webhooks/vapi", "retell": "/v1/webhooks/retell"}
WRONG_TOKEN = "guessed-token-0000"
WRONG_SECRET = "guessed-secret-1111"


@pytest.fixture(scope="module")
def exporter(tmp_path_factory):
    with start_exporter(tmp_path_factory.mktemp("auth-failures"), "--max-body-bytes", "20000", env=ENV) as service:
        yield service


def exposition(url: str) -> str:
    return requests.get(f"{url}/metrics", timeout=10).text


def failures(text: str) -> dict[tuple[str, str], float]:
    """{(endpoint, reason): count}, checking that the series carry nothing but the two labels."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == METRIC:
                assert set(s.labels) == {"endpoint", "reason"}, s.labels
                out[(s.labels["endpoint"], s.labels["reason"])] = s.value
    return out


def moved(before: dict, after: dict) -> dict:
    return {key: after[key] - before.get(key, 0) for key in after if after[key] != before.get(key, 0)}


def turn_batch() -> bytes:
    return fx.body_of([{"type": "turn", "ts": time.time(), "call_id": "auth-c", "attrs": {"latency_seconds": 0.5}}])


def bearer(value: str) -> dict:
    return {"Authorization": value}


def refused_requests(now: float) -> list[tuple[str, str, dict, bytes]]:
    """(endpoint, reason, headers, body) of every kind of refusal."""
    events, traces = turn_batch(), b'{"resourceSpans": []}'
    vapi = fx.body_of(fx.vapi_end_of_call_report(now))
    retell = fx.body_of(fx.retell_event("call_ended", fx.retell_call(now)))
    forged_hmac = fx.vapi_hmac_headers(vapi, WRONG_SECRET, now)
    return [
        (EVENTS, "missing", {}, events),
        (EVENTS, "malformed", bearer(f"Basic {TOKEN}"), events),
        (EVENTS, "malformed", bearer("Bearer "), events),
        (EVENTS, "wrong", bearer(f"Bearer {WRONG_TOKEN}"), events),
        (TRACES, "missing", {}, traces),
        (TRACES, "malformed", bearer(TOKEN), traces),
        (TRACES, "wrong", bearer(f"Bearer {WRONG_TOKEN}"), traces),
        ("vapi", "missing", {}, vapi),
        ("vapi", "wrong", bearer(f"Bearer {WRONG_SECRET}"), vapi),
        ("vapi", "wrong", {"X-Vapi-Secret": WRONG_SECRET}, vapi),
        ("vapi", "wrong", forged_hmac, vapi),
        ("vapi", "stale", fx.vapi_hmac_headers(vapi, VAPI_SECRET, now - 301), vapi),
        ("vapi", "malformed", {"x-signature": forged_hmac["x-signature"]}, vapi),
        ("vapi", "malformed", {"x-signature": "zz", "x-timestamp": forged_hmac["x-timestamp"]}, vapi),
        ("retell", "missing", {}, retell),
        ("retell", "malformed", {"X-Retell-Signature": "v=1,d=zz"}, retell),
        ("retell", "stale", {"X-Retell-Signature": fx.retell_signature(retell, RETELL_KEY, now - 301)}, retell),
        ("retell", "wrong", {"X-Retell-Signature": fx.retell_signature(retell, WRONG_SECRET, now)}, retell),
    ]


def post(session: requests.Session, url: str, endpoint: str, headers: dict, body: bytes) -> requests.Response:
    headers = {"Content-Type": "application/json", **headers}
    return session.post(url + PATHS[endpoint], data=body, headers=headers, timeout=10)


def test_the_series_are_exposed_at_zero_for_every_reason_each_endpoint_can_give(exporter):
    expected = {(e, r) for e in (EVENTS, TRACES) for r in BEARER_REASONS} | {
        (p, r) for p in ("vapi", "retell") for r in REASONS
    }
    counts = failures(exposition(exporter.url))
    assert set(counts) >= expected
    assert set(counts) <= {(e, r) for e in PATHS for r in REASONS}


def test_each_refusal_is_counted_once_under_its_endpoint_and_reason(exporter):
    with requests.Session() as session:
        for endpoint, reason, headers, body in refused_requests(time.time()):
            before = failures(exposition(exporter.url))
            reply = post(session, exporter.url, endpoint, headers, body)
            assert reply.status_code == 401, (endpoint, reason, reply.text)
            assert moved(before, failures(exposition(exporter.url))) == {(endpoint, reason): 1}, (endpoint, reason)


def test_accepted_requests_and_refusals_for_other_reasons_are_not_counted(exporter):
    now = time.time()
    vapi = fx.body_of(fx.vapi_end_of_call_report(now, call_id="auth-ok"))
    retell = fx.body_of(fx.retell_event("call_ended", fx.retell_call(now, call_id="auth-ok")))
    good_bearer = bearer(f"Bearer {TOKEN}")
    passed = [
        (EVENTS, good_bearer, turn_batch(), 200),
        (TRACES, good_bearer, b'{"resourceSpans": []}', 200),
        ("vapi", fx.vapi_hmac_headers(vapi, VAPI_SECRET, now), vapi, 200),
        ("retell", {"X-Retell-Signature": fx.retell_signature(retell, RETELL_KEY, now)}, retell, 200),
        (EVENTS, good_bearer, b"{not json", 400),
        ("vapi", {"X-Vapi-Secret": VAPI_SECRET}, b"{not json", 400),
    ]
    before = failures(exposition(exporter.url))
    with requests.Session() as session:
        for endpoint, headers, body, status in passed:
            reply = post(session, exporter.url, endpoint, headers, body)
            assert reply.status_code == status, (endpoint, reply.text)
    assert failures(exposition(exporter.url)) == before


def test_a_webhook_refused_for_its_size_is_not_counted_since_its_credentials_were_never_read(exporter):
    before = failures(exposition(exporter.url))
    with requests.Session() as session:
        for endpoint in ("vapi", "retell"):
            assert post(session, exporter.url, endpoint, {}, b" " * 30000).status_code == 413
    assert failures(exposition(exporter.url)) == before


def test_webhook_routes_without_their_secrets_count_nothing(tmp_path):
    """A Vapi route without a secret lets everything in; a Retell route without its key refuses everything as
    not configured, which the webhook outcomes count, not the authentication failures."""
    now = time.time()
    vapi = fx.body_of(fx.vapi_end_of_call_report(now))
    retell = fx.body_of(fx.retell_event("call_ended", fx.retell_call(now)))
    with start_exporter(tmp_path) as service, requests.Session() as session:
        before = failures(exposition(service.url))
        assert post(session, service.url, "vapi", {}, vapi).status_code == 200
        assert post(session, service.url, "retell", {}, retell).status_code == 503
        assert post(session, service.url, EVENTS, bearer("Bearer anything"), turn_batch()).status_code == 200
        assert failures(exposition(service.url)) == before


def test_nothing_a_refused_request_carried_reaches_the_metrics(exporter):
    with requests.Session() as session:
        for endpoint, _, headers, body in refused_requests(time.time()):
            post(session, exporter.url, endpoint, headers, body)
    text = exposition(exporter.url)
    sent = [TOKEN, VAPI_SECRET, RETELL_KEY, WRONG_TOKEN, WRONG_SECRET, "Basic", "v=1,d=zz"]
    assert [s for s in sent if s in text] == []
    help_line = next(line for line in text.splitlines() if line.startswith(f"# HELP {METRIC} "))
    assert help_line.endswith(catalogue.metric(METRIC).help)
    assert all(reason in help_line for reason in REASONS)


def test_a_flood_of_refused_requests_is_counted_exactly_and_leaves_the_exporter_serving(exporter):
    rounds, workers = 150, 8
    kinds = refused_requests(time.time())
    expected: dict[tuple[str, str], float] = {}
    for endpoint, reason, _, _ in kinds:
        expected[(endpoint, reason)] = expected.get((endpoint, reason), 0) + rounds

    def send(worker: int) -> list[int]:
        statuses = []
        with requests.Session() as session:
            for i in range(worker, rounds * len(kinds), workers):
                endpoint, _, headers, body = kinds[i % len(kinds)]
                statuses.append(post(session, exporter.url, endpoint, headers, body).status_code)
        return statuses

    before = failures(exposition(exporter.url))
    started = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        statuses = [s for batch in pool.map(send, range(workers)) for s in batch]
    took = time.monotonic() - started
    assert statuses == [401] * (rounds * len(kinds))
    assert took < 30, f"{len(statuses)} refused requests took {took:.1f} s"
    text = exposition(exporter.url)
    assert moved(before, failures(text)) == expected
    assert requests.get(f"{exporter.url}/health", timeout=5).json()["status"] == "ok"
    ok = requests.post(
        exporter.url + PATHS[EVENTS],
        data=turn_batch(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    assert ok.status_code == 200, ok.text


def test_a_flood_of_refused_webhooks_is_logged_once_a_minute_per_reason(caplog):
    clock = Clock()
    receiver = WebhookReceiver(VapiMessages(VapiAuth(VAPI_SECRET)), make(clock))
    body = fx.body_of(fx.vapi_end_of_call_report(clock.now))
    wrong, missing = {"X-Vapi-Secret": WRONG_SECRET}, {}
    with caplog.at_level(logging.WARNING, logger="voice-exporter"):
        for _ in range(100):
            assert receiver(wrong, body)[0] == 401
        assert receiver(missing, body)[0] == 401
        clock.now += AUTH_LOG_INTERVAL_SECONDS
        assert receiver(wrong, body)[0] == 401
        assert receiver({"X-Vapi-Secret": VAPI_SECRET}, b"{not json")[0] == 400
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 4, lines
    assert lines[0].startswith("vapi webhook refused (401, wrong): ") and "more refused" not in lines[0]
    assert lines[1].startswith("vapi webhook refused (401, missing): ")
    assert lines[2].endswith("(99 more refused as wrong since the last such line)")
    assert lines[3].startswith("vapi webhook refused (400): malformed JSON")
    assert not [line for line in lines if WRONG_SECRET in line or VAPI_SECRET in line]
