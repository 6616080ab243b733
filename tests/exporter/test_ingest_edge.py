"""The exporter's HTTP edge under hostile or unlucky clients: slow, idle, truncated, malformed at the protocol."""

import json
import os
import signal
import socket
import time

import requests

from tests.exporter.raw_client import address, is_closed
from tests.harness import post_events, start_exporter, wait_for


def turn(call_id="c-1", **extra):
    return {
        "type": "turn",
        "ts": time.time(),
        "call_id": call_id,
        "provider": "deepgram",
        **extra,
        "attrs": {"latency_seconds": 0.5},
    }


def turn_count(service) -> float:
    for line in requests.get(f"{service.url}/metrics", timeout=10).text.splitlines():
        if line.startswith("ai_agent_turn_response_seconds_count{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def exchange(service, raw: bytes, timeout: float = 5.0) -> bytes:
    """Send ``raw`` on a fresh connection and read until the server closes it or ``timeout`` passes."""
    with socket.create_connection(address(service), timeout=timeout) as sock:
        sock.sendall(raw)
        return read_until_closed(sock, timeout)


def read_until_closed(sock, timeout: float) -> bytes:
    sock.settimeout(timeout)
    received = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            return received
        if not chunk:
            return received
        received += chunk


def split_reply(raw: bytes) -> tuple[int, dict, dict]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    return status, headers, json.loads(body[: int(headers.get("content-length", len(body)))])


def post_head(length: int, content_type: str = "application/json") -> bytes:
    """The request line and headers of POST /v1/events declaring ``length`` body bytes."""
    return (
        f"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def post_ndjson(service, lines: list[str]) -> requests.Response:
    return requests.post(
        f"{service.url}/v1/events",
        data="\n".join(lines).encode(),
        headers={"Content-Type": "application/x-ndjson"},
        timeout=10,
    )


def test_every_broken_ndjson_line_is_rejected_and_every_valid_line_applied(exporter):
    response = post_ndjson(exporter, [json.dumps(turn()), "{x", "{y", json.dumps(turn())])
    body = response.json()
    assert body["accepted"] == 2
    assert [(r["index"], r["error"][:14]) for r in body["rejected"]] == [(1, "malformed JSON"), (2, "malformed JSON")]
    assert turn_count(exporter) == 2


def test_an_ndjson_index_is_the_line_number_counting_blank_lines(exporter):
    body = post_ndjson(exporter, [json.dumps(turn()), "", "{x", "   ", json.dumps(turn()), "[]"]).json()
    assert body["accepted"] == 2
    assert [r["index"] for r in body["rejected"]] == [2, 5]


def test_a_truncated_body_applies_nothing(exporter):
    lines = b"".join(json.dumps(turn(call_id=f"t-{i}")).encode() + b"\n" for i in range(3))
    head = post_head(len(lines) + 5000, "application/x-ndjson")
    with socket.create_connection(address(exporter), timeout=5) as sock:
        sock.sendall(head + lines)
        sock.shutdown(socket.SHUT_WR)
        reply = read_until_closed(sock, 5)
    assert b"accepted" not in reply
    assert turn_count(exporter) == 0
    assert "Traceback" not in exporter.log_tail()


def test_a_client_that_trickles_its_headers_is_cut_off(tmp_path):
    with start_exporter(tmp_path, "--header-timeout", "1") as service:
        with socket.create_connection(address(service), timeout=6) as sock:
            started = time.monotonic()
            sock.sendall(b"POST /v1/events HTTP/1.1\r\n")
            received = b""
            while time.monotonic() - started < 5:
                sock.sendall(b"X-Slow: 1\r\n")
                time.sleep(0.3)
                sock.settimeout(0.01)
                try:
                    chunk = sock.recv(4096)
                except TimeoutError:
                    continue
                except (BrokenPipeError, ConnectionResetError):
                    break
                received += chunk
                if not chunk:
                    break
            assert time.monotonic() - started < 4, "the trickling client was never cut off"
        assert requests.get(f"{service.url}/health", timeout=5).status_code == 200


def test_a_client_that_trickles_its_body_is_cut_off_and_nothing_is_applied(tmp_path):
    with start_exporter(tmp_path, "--body-timeout", "1") as service:
        body = json.dumps([turn()]).encode()
        head = post_head(len(body))
        with socket.create_connection(address(service), timeout=6) as sock:
            sock.sendall(head + body[:5])
            started = time.monotonic()
            reply = read_until_closed(sock, 5)
            assert time.monotonic() - started < 4
        assert split_reply(reply)[0] == 408
        assert turn_count(service) == 0


def test_connections_beyond_the_limit_are_closed_and_the_others_keep_working(tmp_path):
    with start_exporter(tmp_path, "--max-connections", "8") as service:
        sessions = [requests.Session() for _ in range(4)]
        for s in sessions:
            assert s.get(f"{service.url}/health", timeout=5).status_code == 200
        idle = [socket.create_connection(address(service), timeout=5) for _ in range(30)]
        try:
            refused = 0
            for sock in idle:
                if read_until_closed(sock, 0.2) != b"" or is_closed(sock):
                    refused += 1
            assert refused >= 30 - 4
            for s in sessions:
                assert s.post(f"{service.url}/v1/events", json=[turn()], timeout=5).json()["accepted"] == 1
        finally:
            for sock in idle:
                sock.close()
        assert turn_count(service) == 4


def test_the_listen_backlog_holds_a_burst_of_a_thousand_connections(exporter):
    os.kill(exporter.process.pid, signal.SIGSTOP)
    socks = []
    try:
        for _ in range(1000):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(address(exporter))
            socks.append(s)
        time.sleep(0.5)
        established = 0
        for s in socks:
            try:
                s.getpeername()
                established += 1
            except OSError:
                pass
        assert established >= 1000
    finally:
        os.kill(exporter.process.pid, signal.SIGCONT)
        for s in socks:
            s.close()
    wait_for(lambda: requests.get(f"{exporter.url}/health", timeout=5).status_code == 200, 10, what="/health")


def test_a_request_line_too_long_is_414_in_json(exporter):
    status, _, body = split_reply(exchange(exporter, b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert status == 414 and "error" in body


def test_headers_too_large_are_431_in_json(exporter):
    status, _, body = split_reply(exchange(exporter, b"GET /health HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n"))
    assert status == 431 and "error" in body
    many = b"".join(b"X-%d: 1\r\n" % i for i in range(300))
    status, _, body = split_reply(exchange(exporter, b"GET /health HTTP/1.1\r\n" + many + b"\r\n"))
    assert status == 431 and "error" in body


def test_put_and_delete_are_405_with_allow_in_json(exporter):
    for method in ("put", "delete"):
        response = requests.request(method, f"{exporter.url}/v1/events", timeout=5)
        assert response.status_code == 405
        assert response.headers["Allow"] == "POST"
        assert "error" in response.json()


def test_a_garbage_request_line_is_400_in_json(exporter):
    status, headers, body = split_reply(exchange(exporter, b"GARBAGE\r\n\r\n"))
    assert status == 400 and headers["content-type"].startswith("application/json") and "error" in body


def test_the_bearer_scheme_is_case_insensitive_and_checked_before_the_body(tmp_path):
    with start_exporter(tmp_path, env={"EXPORTER_TOKEN": "s3cret"}) as service:
        for scheme in ("bearer", "BEARER", "Bearer"):
            response = requests.post(
                f"{service.url}/v1/events", json=[turn()], headers={"Authorization": f"{scheme} s3cret"}, timeout=5
            )
            assert response.status_code == 200, scheme
        head = (
            b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer wrong\r\nContent-Length: 1000000\r\n\r\n"
        )
        with socket.create_connection(address(service), timeout=5) as sock:
            sock.sendall(head)
            sock.settimeout(3)
            assert sock.recv(100).startswith(b"HTTP/1.1 401")
        assert post_events(service.url, [turn()], token="wrong").status_code == 401


def test_sigterm_finishes_the_request_in_flight_then_stops(tmp_path):
    service = start_exporter(tmp_path)
    try:
        body = json.dumps([turn(call_id=f"g-{i}") for i in range(3)]).encode()
        head = post_head(len(body))
        with socket.create_connection(address(service), timeout=5) as sock:
            sock.sendall(head + body[:10])
            time.sleep(0.3)
            service.process.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            sock.sendall(body[10:])
            status, _, reply = split_reply(read_until_closed(sock, 5))
        assert status == 200 and reply["accepted"] == 3
        assert service.process.wait(10) == 0
    finally:
        service.stop()


def test_a_client_that_vanishes_mid_body_leaves_no_error_and_shutdown_stays_prompt(exporter):
    body = json.dumps([turn()]).encode()
    head = post_head(len(body))
    for _ in range(5):
        with socket.create_connection(address(exporter), timeout=5) as sock:
            sock.sendall(head + body[:10])
            time.sleep(0.1)
    assert requests.get(f"{exporter.url}/health", timeout=5).status_code == 200
    started = time.monotonic()
    exporter.process.send_signal(signal.SIGTERM)
    assert exporter.process.wait(10) == 0
    assert time.monotonic() - started < 3, "shutdown waited for requests that had already gone"
    assert "Traceback" not in exporter.log_tail()


def test_an_idle_keep_alive_connection_is_closed_after_the_keep_alive_timeout(tmp_path):
    service = start_exporter(tmp_path, "--keepalive-timeout", "1", "--header-timeout", "10")
    with service, socket.create_connection(address(service), timeout=5) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert split_reply(sock.recv(4096))[0] == 200
        started = time.monotonic()
        assert read_until_closed(sock, 5) == b""
        assert time.monotonic() - started < 4
