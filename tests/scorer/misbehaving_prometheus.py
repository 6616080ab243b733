"""A loopback HTTP server standing in for a Prometheus that answers badly: slowly, malformed, or absurd."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tests.harness import read_http_message


def http_answer(body: bytes, status: str = "200 OK") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


@contextmanager
def misbehaving_prometheus(
    answer: bytes | Callable[[bytes], bytes] | None = None, trickle: bytes | None = None, every: float = 0.3
) -> Iterator:
    """``http://127.0.0.1:port`` of a server sending ``answer`` at once, or ``trickle`` one byte every ``every`` s.

    ``answer`` may be a function of the request's bytes.
    A trickle that ends is sent again from its start: the connection never completes an answer.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.2)
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def serve(conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(5)
                request = read_http_message(conn) or b""
                if answer is not None:
                    conn.sendall(answer(request) if callable(answer) else answer)
                    return
                while not stop.is_set():
                    for i in range(len(trickle)):
                        if stop.wait(every):
                            return
                        conn.sendall(trickle[i : i + 1])
            except OSError:
                return

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            t = threading.Thread(target=serve, args=(conn,), daemon=True)
            threads.append(t)
            t.start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        acceptor.join(5)
        listener.close()
        for t in threads:
            t.join(5)
