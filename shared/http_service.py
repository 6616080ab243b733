"""What the exporter and the scorer share as HTTP services: the server, JSON replies, flags, shutdown."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # a response's headers and body go out as separate writes

    def log_message(self, format, *args):  # access logs would drown the service's own
        pass

    def send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status: int, payload) -> None:
        self.send(status, json.dumps(payload).encode())


def env_default(name: str, default):
    """The environment variable ``name`` converted to the type of ``default``, or ``default``."""
    value = os.environ.get(name)
    if value is None:
        return default
    return type(default)(value) if default is not None else value


def serve_until_signalled(server: Server, log: logging.Logger, stop: threading.Event | None = None) -> None:
    """Serve until SIGTERM or SIGINT, then set ``stop`` (for the service's own threads) and close."""
    stop = stop or threading.Event()

    def shutdown(signum, frame):
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    server.serve_forever()
    server.server_close()
    log.info("stopped")
