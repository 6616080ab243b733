"""The Prometheus client's failure reasons, against a loopback HTTP server answering badly on purpose."""

import base64
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.harness import free_port
from tests.scaleout.secured import USER, issue
from voice_monitoring.scorer.promql import PrometheusClient, QueryError, Security

ANSWERS = {
    "/ok/api/v1/query": (200, b'{"status":"success","data":{"resultType":"vector","result":[]}}'),
    "/garbage/api/v1/query": (200, b"<html>not json</html>"),
    "/matrix/api/v1/query": (200, b'{"status":"success","data":{"resultType":"matrix","result":[]}}'),
    "/bad/api/v1/query": (400, b'{"status":"error","errorType":"bad_data","error":"parse error"}'),
    "/overloaded/api/v1/query": (503, b"service unavailable"),
    "/slow/api/v1/query": (422, b'{"status":"error","errorType":"timeout","error":"query timed out"}'),
    "/locked/api/v1/query": (401, b"Unauthorized\n"),
    "/forbidden/api/v1/query": (403, b'{"status":"error","error":"forbidden"}'),
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
        ("/locked", "auth"),
        ("/forbidden", "auth"),
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


class _Secured(BaseHTTPRequestHandler):
    """Answers an empty vector to the right basic-auth credentials, 401 to anything else."""

    protocol_version = "HTTP/1.1"
    expected = ""

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Authorization") == self.expected:
            status, body = ANSWERS["/ok/api/v1/query"]
        else:
            status, body = 401, b"Unauthorized\n"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    """An https server with the test CA's certificate for 127.0.0.1, asking for basic auth; its credentials and
    a second, unrelated CA."""
    credentials = issue(tmp_path_factory.mktemp("tls"))
    stranger = issue(tmp_path_factory.mktemp("other-ca"))
    _Secured.expected = "Basic " + base64.b64encode(f"{USER}:{credentials.password}".encode()).decode()
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Secured)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(credentials.cert_file, credentials.key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", credentials, stranger
    finally:
        server.shutdown()
        server.server_close()


def test_a_trusted_server_and_the_right_credentials_answer(secured):
    url, credentials, _ = secured
    security = Security(ca_file=str(credentials.ca_file), username=USER, password=credentials.password)
    assert PrometheusClient(url, timeout=2, security=security).instant("up") == []


def test_wrong_credentials_are_an_auth_failure(secured):
    url, credentials, _ = secured
    security = Security(ca_file=str(credentials.ca_file), username=USER, password="wrong")
    with pytest.raises(QueryError) as failure:
        PrometheusClient(url, timeout=2, security=security).instant("up")
    assert failure.value.reason == "auth"
    assert "refused the scorer's credentials" in str(failure.value) and "wrong" not in str(failure.value)


@pytest.mark.parametrize("trust", ["another CA", "the system's CAs"])
def test_an_untrusted_server_is_a_tls_failure(secured, trust):
    url, credentials, stranger = secured
    ca_file = str(stranger.ca_file) if trust == "another CA" else None
    security = Security(ca_file=ca_file, username=USER, password=credentials.password)
    with pytest.raises(QueryError) as failure:
        PrometheusClient(url, timeout=2, security=security).instant("up")
    assert failure.value.reason == "tls"
    assert "certificate verify failed" in str(failure.value)


def test_a_certificate_that_does_not_name_the_urls_host_is_a_tls_failure(secured):
    url, credentials, _ = secured  # the certificate names 127.0.0.1 only
    security = Security(ca_file=str(credentials.ca_file), username=USER, password=credentials.password)
    with pytest.raises(QueryError) as failure:
        PrometheusClient(url.replace("127.0.0.1", "localhost"), timeout=2, security=security).instant("up")
    assert failure.value.reason == "tls"
    assert "localhost" in str(failure.value)


@pytest.fixture(scope="module")
def mutual(tmp_path_factory):
    """An https server asking for a client certificate signed by the test CA."""
    credentials = issue(tmp_path_factory.mktemp("mtls"))
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Answers)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(credentials.cert_file, credentials.key_file)
    context.load_verify_locations(credentials.ca_file)
    context.verify_mode = ssl.CERT_REQUIRED
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/ok", credentials
    finally:
        server.shutdown()
        server.server_close()


def test_a_client_certificate_lets_the_scorer_in_and_its_absence_is_a_tls_failure(mutual):
    url, credentials = mutual
    ca = str(credentials.ca_file)
    # the server's certificate, signed by the test CA, serves as the client's too
    with_cert = Security(ca_file=ca, cert_file=str(credentials.cert_file), key_file=str(credentials.key_file))
    assert PrometheusClient(url, timeout=2, security=with_cert).instant("up") == []
    with pytest.raises(QueryError) as failure:
        PrometheusClient(url, timeout=2, security=Security(ca_file=ca)).instant("up")
    assert failure.value.reason == "tls"


class _Counted(_Answers):
    """Answers an empty vector and notes the client's address (host, port): one per connection."""

    peers: list = []

    def do_POST(self):
        self.peers.append(self.client_address)
        super().do_POST()


def test_queries_share_a_kept_alive_connection():
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Counted)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = PrometheusClient(f"http://127.0.0.1:{server.server_address[1]}/ok", timeout=2)
        for _ in range(3):
            assert client.instant("up") == []
        assert len(_Counted.peers) == 3 and len(set(_Counted.peers)) == 1, _Counted.peers
        client.close()
        assert client.instant("up") == []  # a closed client opens a new connection
        assert len(_Counted.peers) == 4 and _Counted.peers[3] != _Counted.peers[0], _Counted.peers
    finally:
        server.shutdown()
        server.server_close()
