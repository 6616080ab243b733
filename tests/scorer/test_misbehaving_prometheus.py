"""A Prometheus that trickles, answers malformed or deeply nested JSON, or reports absurd values.

Each case talks to a real loopback server misbehaving on purpose: no cycle may hang past its query
deadline, every bad answer is a counted query error with its reason, and /metrics never carries NaN or Inf.
"""

import base64
import json
import math
import threading
import time

import pytest
import requests
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tests.harness import start_scorer, wait_for
from tests.scorer.misbehaving_prometheus import http_answer, misbehaving_prometheus
from voice_monitoring.scorer.inputs import RTT, TURNS, InputReader
from voice_monitoring.scorer.promql import PrometheusClient, QueryError
from voice_monitoring.scorer.scoring_parameters import DEFAULTS
from voice_monitoring.scorer.service import Scorer

QUERY_TIMEOUT = 1.0
BOUND = 15.0  # how long a test waits for a hung query before calling it hung


def finished_within(action, seconds: float):
    """(done, result or exception, elapsed) of ``action`` run in a thread and given ``seconds``."""
    outcome = {}

    def run():
        try:
            outcome["value"] = action()
        except Exception as exc:
            outcome["value"] = exc

    began = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive(), outcome.get("value"), time.monotonic() - began


def scorer_for(url: str) -> Scorer:
    return Scorer(InputReader(PrometheusClient(url, QUERY_TIMEOUT)), DEFAULTS, interval=30)


def query_errors(scorer: Scorer) -> dict[str, float]:
    for family in text_string_to_metric_families(generate_latest(scorer.metrics.registry).decode()):
        if family.name == "ai_agent_scorer_query_errors":
            return {s.labels["reason"]: s.value for s in family.samples if s.name.endswith("_total")}
    raise AssertionError("no query error counter")


TRICKLES = {
    "headers": b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000,
    "body": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n" + b" " * 1000,
}


@pytest.mark.parametrize("part", sorted(TRICKLES))
def test_a_trickling_answer_times_out_at_the_query_deadline(part):
    with misbehaving_prometheus(trickle=TRICKLES[part], every=0.3) as url:
        client = PrometheusClient(url, QUERY_TIMEOUT)
        done, outcome, elapsed = finished_within(lambda: client.instant("up"), BOUND)
    assert done, f"a query to a server trickling its {part} still hung after {BOUND} s"
    assert isinstance(outcome, QueryError) and outcome.reason == "timeout", outcome
    assert elapsed < QUERY_TIMEOUT + 1.0


def test_a_trickling_prometheus_fails_the_cycle_counts_a_timeout_and_degrades_health():
    with misbehaving_prometheus(trickle=TRICKLES["headers"], every=0.3) as url:
        scorer = scorer_for(url)
        done, outcome, elapsed = finished_within(scorer.cycle, BOUND)
        scorer.reader.close()
    assert done, f"the cycle still hung after {BOUND} s"
    assert outcome is False and elapsed < QUERY_TIMEOUT + 1.5
    assert query_errors(scorer)["timeout"] >= 1
    health = scorer.health()
    assert health["status"] == "degraded" and health["consecutive_failures"] == 1
    assert "timeout" in health["last_error"] or "within" in health["last_error"]


def vector(result) -> bytes:
    return json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}}).encode()


MALFORMED = {
    "deeply nested": b'{"status":"success","data":' + b"[" * 200_000 + b"]" * 200_000 + b"}",
    "data not an object": b'{"status":"success","data":[]}',
    "result items not objects": vector([1, "two", None]),
    "metric not an object": vector([{"metric": ["call_id"], "value": [1, "1"]}]),
    "value not a pair": vector([{"metric": {"__name__": TURNS, "call_id": "c"}, "value": "5"}]),
    "value not a number": vector([{"metric": {"__name__": TURNS, "call_id": "c"}, "value": [1, "five"]}]),
    "label value not a string": vector([{"metric": {"__name__": TURNS, "call_id": 7}, "value": [1, "5"]}]),
    "top level a list": b"[1, 2, 3]",
    "truncated": vector([{"metric": {"__name__": TURNS, "call_id": "c"}, "value": [1, "5"]}])[:-7],
    "not utf-8": b'{"status":"success","data":{"resultType":"vector","result":[{"metric":{"call_id":"\xff"}}]}}',
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_answer_is_a_parse_error(case):
    with misbehaving_prometheus(answer=http_answer(MALFORMED[case])) as url:
        client = PrometheusClient(url, QUERY_TIMEOUT)
        done, outcome, _ = finished_within(lambda: client.instant("up"), BOUND)
    assert done
    assert isinstance(outcome, QueryError) and outcome.reason == "parse", repr(outcome)


@pytest.mark.parametrize("case", ["deeply nested", "result items not objects", "value not a number"])
def test_a_malformed_answer_fails_the_cycle_as_a_counted_parse_error(case):
    with misbehaving_prometheus(answer=http_answer(MALFORMED[case])) as url:
        scorer = scorer_for(url)
        done, outcome, _ = finished_within(scorer.cycle, BOUND)
        scorer.reader.close()
    assert done and outcome is False, repr(outcome)
    assert query_errors(scorer)["parse"] >= 1
    assert scorer.health()["status"] == "degraded"


def test_an_oversized_answer_is_refused():
    huge = vector([{"metric": {"__name__": TURNS, "call_id": f"c{i}"}, "value": [1, "5"]} for i in range(2000)])
    with misbehaving_prometheus(answer=http_answer(huge)) as url:
        client = PrometheusClient(url, QUERY_TIMEOUT, max_answer_bytes=10_000)
        with pytest.raises(QueryError) as failure:
            client.instant("up")
    assert failure.value.reason == "parse"


def absurd_call(rtt: str, jitter: str = "0.01", loss: str = "0.0") -> bytes:
    def sample(name, value):
        return {"metric": {"__name__": name, "call_id": "absurd", "provider": "p", "tenant": "t"}, "value": [1, value]}

    names = {TURNS: "5", RTT: rtt, "ai_agent_call_transport_jitter_seconds": jitter}
    names["ai_agent_call_transport_packet_loss_ratio"] = loss
    names["ai_agent_call_turn_response_p95_seconds"] = "1e308"
    return vector([sample(name, value) for name, value in names.items()])


@pytest.mark.parametrize(
    "rtt,jitter,loss", [("1e308", "0.01", "0.0"), ("1e308", "1e308", "1e308"), ("-1e308", "NaN", "+Inf")]
)
def test_absurd_reports_never_publish_nan_or_inf(rtt, jitter, loss):
    with misbehaving_prometheus(answer=http_answer(absurd_call(rtt, jitter, loss))) as url:
        scorer = scorer_for(url)
        assert scorer.cycle()
        scorer.reader.close()
    exposition = generate_latest(scorer.metrics.registry).decode()
    values = [s.value for f in text_string_to_metric_families(exposition) for s in f.samples]
    assert values and all(math.isfinite(v) for v in values), exposition
    figures = scorer.call("absurd")
    assert figures["score"] is not None and math.isfinite(figures["score"])
    if figures["emodel"] is not None:
        assert 0 <= figures["emodel"]["r_factor"] <= 100 and 1 <= figures["emodel"]["mos"] <= 4.5


def test_credentials_in_the_url_are_sent_as_basic_authentication():
    seen = []

    def answer(request: bytes) -> bytes:
        seen.append(request)
        return http_answer(vector([]))

    with misbehaving_prometheus(answer=answer) as url:
        client = PrometheusClient(url.replace("http://", "http://scorer:s%40cret@"), QUERY_TIMEOUT)
        assert client.instant("up") == []
    assert b"Authorization: Basic " + base64.b64encode(b"scorer:s@cret") in seen[0]
    assert "s%40cret" not in client.base_url


def test_the_running_scorer_reports_a_trickling_prometheus_on_health_and_metrics(tmp_path):
    with (
        misbehaving_prometheus(trickle=TRICKLES["headers"], every=0.3) as url,
        start_scorer(tmp_path, url, "--interval", "1", "--query-timeout", "1", "--max-backoff-seconds", "1") as scorer,
    ):

        def timed_out_twice():
            health = requests.get(f"{scorer.url}/health", timeout=5).json()
            return health if health["consecutive_failures"] >= 2 else None

        health = wait_for(timed_out_twice, 15, what="two failed cycles")
        metrics = requests.get(f"{scorer.url}/metrics", timeout=5).text
    assert health["status"] == "degraded" and "within 1s" in health["last_error"], health
    errors = {
        s.labels["reason"]: s.value
        for f in text_string_to_metric_families(metrics)
        if f.name == "ai_agent_scorer_query_errors"
        for s in f.samples
        if s.name.endswith("_total")
    }
    assert errors["timeout"] >= 2 and errors["parse"] == 0 and errors["http"] == 0, errors
