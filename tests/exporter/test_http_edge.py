"""The HTTP edge as a raw-socket client sees it: protocol versions, half-closed clients, oversize requests."""

import http.client
import json
import select
import signal
import socket
import time

import pytest
import requests

from tests.exporter.raw_client import address, is_closed
from tests.harness import start_exporter
from voice_monitoring.shared.http_service import ServerLimits


def read_reply(sock, timeout: float) -> bytes:
    """Everything the server sends until it closes the connection, resets it, or ``timeout`` passes."""
    sock.settimeout(timeout)
    received = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            break
        if not chunk:
            break
        received += chunk
    return received


def status_line(raw: bytes) -> str:
    return raw.split(b"\r\n", 1)[0].decode("latin-1")


def test_a_request_line_saying_http_2_is_answered_505_over_http_1_1(exporter):
    with socket.create_connection(address(exporter), timeout=5) as sock:
        sock.sendall(b"GET /health HTTP/2.0\r\nHost: x\r\n\r\n")
        raw = read_reply(sock, 5)
    assert status_line(raw).startswith("HTTP/1.1 505 "), raw[:200]
    assert "error" in json.loads(raw.partition(b"\r\n\r\n")[2])


def test_a_client_that_half_closes_after_its_request_gets_the_reply(exporter):
    event = {
        "type": "turn",
        "ts": time.time(),
        "call_id": "half-1",
        "provider": "deepgram",
        "attrs": {"latency_seconds": 0.5},
    }
    body = json.dumps([event]).encode()
    head = b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
    with socket.create_connection(address(exporter), timeout=5) as sock:
        sock.sendall(head % len(body) + body)
        sock.shutdown(socket.SHUT_WR)  # nc -N: nothing more to send, still reading
        started = time.monotonic()
        raw = read_reply(sock, 5)
        elapsed = time.monotonic() - started
    assert status_line(raw) == "HTTP/1.1 200 OK", raw[:400]
    assert json.loads(raw.partition(b"\r\n\r\n")[2])["accepted"] == 1
    assert elapsed < 2, "the server closes once it has answered a half-closed client"


def test_a_client_that_half_closes_inside_its_body_gets_400_at_once_and_nothing_is_applied(exporter):
    event = {
        "type": "turn",
        "ts": time.time(),
        "call_id": "half-2",
        "provider": "deepgram",
        "attrs": {"latency_seconds": 0.5},
    }
    body = json.dumps([event]).encode()
    head = b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
    with socket.create_connection(address(exporter), timeout=5) as sock:
        sock.sendall(head % len(body) + body[:10])
        sock.shutdown(socket.SHUT_WR)
        started = time.monotonic()
        raw = read_reply(sock, 5)
        elapsed = time.monotonic() - started
    assert raw == b"" or " 400 " in status_line(raw), raw[:400]
    assert elapsed < 2, "a body that can no longer arrive is not waited for"
    metrics = requests.get(f"{exporter.url}/metrics", timeout=5).text
    assert 'call_id="half-2"' not in metrics and "ai_agent_turn_response_seconds_count{" not in metrics


def test_at_the_connection_limit_the_longest_idle_connection_makes_room_and_tricklers_are_kept(tmp_path):
    with start_exporter(tmp_path, "--max-connections", "8") as service:
        trickling = [socket.create_connection(address(service), timeout=5) for _ in range(6)]
        idle = []
        try:
            for sock in trickling:
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            time.sleep(0.2)
            for _ in range(20):
                idle.append(socket.create_connection(address(service), timeout=5))
                time.sleep(0.01)
            for _ in range(5):
                assert requests.get(f"{service.url}/health", timeout=5).status_code == 200
            assert not any(is_closed(sock, 0.05) for sock in trickling), "a request in flight is never reclaimed"
            assert all(is_closed(sock) for sock in idle[:15]), "the longest-idle connections made room"
        finally:
            for sock in trickling + idle:
                sock.close()


# Oversize requests: the server answers after the first few kilobytes while the client is still sending. A 16 KiB
# send buffer stands in for a network path that cannot take the whole request at once, as a real one cannot.
SMALL_SEND_BUFFER = 16384
OVERSIZE = {
    "request line": (b"GET /" + b"a" * 1_000_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    "header block": (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n", 431),
    "body": (
        b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4000000\r\n\r\n"
        + b"[" * 4_000_000,
        413,
    ),
}


def oversize_exporter(tmp_path):
    return start_exporter(tmp_path, "--max-body-bytes", "100000")


def reply_status(raw: bytes) -> int:
    status = int(status_line(raw).split()[1])
    assert "error" in json.loads(raw.partition(b"\r\n\r\n")[2]), raw[:400]
    return status


@pytest.mark.parametrize("part", OVERSIZE)
def test_an_oversize_request_sent_whole_then_read_gets_its_error_reply(tmp_path, part):
    request, status = OVERSIZE[part]
    with oversize_exporter(tmp_path) as service, socket.create_connection(address(service), timeout=10) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL_SEND_BUFFER)
        sock.sendall(request)  # a reset while the client is still sending raises here, before it reads a byte
        raw = read_reply(sock, 5)
    assert reply_status(raw) == status


def test_a_70_kb_request_line_trickled_in_pieces_gets_its_414(exporter):
    request = b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(address(exporter), timeout=10) as sock:
        for start in range(0, len(request), 4096):  # as a slow link delivers it, still arriving after the reply
            sock.sendall(request[start : start + 4096])
            time.sleep(0.002)
        raw = read_reply(sock, 5)
    assert reply_status(raw) == 414


def test_the_stdlib_http_client_sending_a_1_mb_request_line_gets_414(exporter):
    host, port = address(exporter)
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.connect()
    connection.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL_SEND_BUFFER)
    try:
        connection.request("GET", "/" + "a" * 1_000_000)  # raises on a reset before the request is all sent
        response = connection.getresponse()
        assert response.status == 414 and "error" in json.loads(response.read())
    finally:
        connection.close()


@pytest.mark.parametrize("part", OVERSIZE)
def test_an_oversize_request_read_while_sending_gets_its_error_reply_then_an_orderly_close(tmp_path, part):
    request, status = OVERSIZE[part]
    with oversize_exporter(tmp_path) as service, socket.create_connection(address(service), timeout=10) as sock:
        sock.setblocking(False)
        received, sent, ending = b"", 0, "timeout"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            writable = [sock] if sent < len(request) else []
            readable, writable, _ = select.select([sock], writable, [], 0.5)
            if readable:
                try:
                    chunk = sock.recv(65536)
                except ConnectionResetError:
                    ending = "reset"
                    break
                if not chunk:
                    ending = "closed"
                    break
                received += chunk
            if writable:
                try:
                    sent += sock.send(request[sent : sent + 16384])
                except (BrokenPipeError, ConnectionResetError):
                    ending = "reset while sending"
                    break
    assert reply_status(received) == status
    assert ending == "closed", f"the connection ended by {ending} after {sent} of {len(request)} bytes"


def test_a_client_that_never_stops_sending_is_cut_off_after_its_reply_within_the_lingering_bound(exporter):
    with socket.create_connection(address(exporter), timeout=10) as sock:
        sock.sendall(b"GET /" + b"a" * 20_000)
        started = time.monotonic()
        sent_after_reply = 0
        try:
            while time.monotonic() - started < 15:
                sock.sendall(b"a" * 65536)
                sent_after_reply += 65536
        except (BrokenPipeError, ConnectionResetError):
            pass
        elapsed = time.monotonic() - started
        raw = read_reply(sock, 5)
    assert reply_status(raw) == 414
    assert elapsed < ServerLimits().linger_seconds + 3, f"still reading after {elapsed:.1f}s"


def test_at_the_connection_limit_a_connection_lingering_after_its_error_reply_makes_room_first(tmp_path):
    with start_exporter(tmp_path, "--max-connections", "4") as service:
        served = socket.create_connection(address(service), timeout=5)
        oversize = []
        try:
            served.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert status_line(served.recv(65536)) == "HTTP/1.1 200 OK"
            for _ in range(3):
                oversize.append(socket.create_connection(address(service), timeout=5))
                oversize[-1].sendall(b"GET /" + b"a" * 20_000)  # answered 414, then the connection lingers
            time.sleep(0.3)
            for _ in range(3):
                assert requests.get(f"{service.url}/health", timeout=5).status_code == 200
            assert not is_closed(served), "a served keep-alive connection outlasts those lingering after an error"
            assert [reply_status(read_reply(sock, 2)) for sock in oversize] == [414] * 3
        finally:
            for sock in [served, *oversize]:
                sock.close()


def test_sigterm_does_not_wait_for_a_connection_lingering_after_its_error_reply(tmp_path):
    service = start_exporter(tmp_path)
    try:
        with socket.create_connection(address(service), timeout=5) as sock:
            sock.sendall(b"GET /" + b"a" * 20_000)  # answered 414, then lingering: the client neither ends nor closes
            time.sleep(0.3)
            started = time.monotonic()
            service.process.send_signal(signal.SIGTERM)
            assert service.process.wait(10) == 0
            elapsed = time.monotonic() - started
            assert reply_status(read_reply(sock, 2)) == 414
        assert elapsed < ServerLimits().linger_seconds / 2, f"shutdown took {elapsed:.1f}s"
    finally:
        service.stop()
