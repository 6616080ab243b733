"""The scorer runs on the same hardened server as the exporter: slow clients are cut off, errors are JSON."""

import socket
import time

import requests

from tests.harness import free_port, start_scorer


def test_the_scorer_cuts_off_a_client_that_trickles_its_headers(tmp_path):
    prometheus = f"http://127.0.0.1:{free_port()}"  # nothing listens there; the scorer still serves /health
    with start_scorer(tmp_path, prometheus, "--header-timeout", "1") as scorer:
        host, port = scorer.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\n")
            started = time.monotonic()
            sock.settimeout(4)
            reply = sock.recv(4096)
            assert time.monotonic() - started < 3.5
        assert reply.split(b" ", 2)[1] == b"408" and b'{"error"' in reply
        wrong = requests.delete(f"{scorer.url}/metrics", timeout=5)
        assert wrong.status_code == 405 and "error" in wrong.json()
        assert requests.get(f"{scorer.url}/calls/nobody", timeout=5).status_code in (404, 503)
