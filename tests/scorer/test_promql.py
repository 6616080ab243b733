"""The Prometheus client's failure reasons, against a loopback HTTP server answering badly on purpose."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.harness import free_port
from voice_monitoring.scorer.promql import PrometheusClient, QueryError

ANSWERS = {
    "/ok/api/v1/query": (200, b'{"status":"success","data":{"resultType":"vector","result":[]}}'),
    "/garbage/api/v1/query": (200, b"<html>not json</html>"),
    "/matrix/api/v1/query": (200, b'{"status":"success","data":{"resultType":"matrix","result":[]}}'),
    "/bad/api/v1/query": (400, b'{"status":"error","errorType":"bad_data","error":"parse error"}'),
    "/overloaded/api/v1/query": (503, b"service unavailable"),
    "/slow/api/v1/query": (422, b'{"status":"error","errorType":"timeout","error":"query timed out"}'),
}


class _Answers(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status, body = ANSWERS[self.path]
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def answers():
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Answers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_good_answer_is_its_result(answers):
    assert PrometheusClient(answers + "/ok", timeout=2).instant("up") == []


@pytest.mark.parametrize(
    "path,reason",
    [
        ("/garbage", "parse"),
        ("/matrix", "parse"),
        ("/bad", "http"),
        ("/overloaded", "http"),
        ("/slow", "timeout"),
    ],
)
def test_failures_carry_their_reason(answers, path, reason):
    with pytest.raises(QueryError) as failure:
        PrometheusClient(answers + path, timeout=2).instant("up")
    assert failure.value.reason == reason


def test_nothing_listening_is_an_http_failure():
    with pytest.raises(QueryError) as failure:
        PrometheusClient(f"http://127.0.0.1:{free_port()}", timeout=2).instant("up")
    assert failure.value.reason == "http"
