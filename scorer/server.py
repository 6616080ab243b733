"""HTTP front of the scorer: GET /metrics, /health, /ready and /calls/{call_id}."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from scorer.service import Scorer


class ScorerServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, scorer: Scorer):
        super().__init__(address, _Handler)
        self.scorer = scorer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ScorerServer

    def log_message(self, format, *args):
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload) -> None:
        self._send(status, json.dumps(payload).encode())

    def do_GET(self):
        scorer = self.server.scorer
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._send(200, generate_latest(scorer.metrics.registry), CONTENT_TYPE_LATEST)
        elif path == "/health":
            self._json(200, scorer.health())
        elif path == "/ready":
            if scorer.ready():
                self._json(200, {"status": "ready"})
            else:
                self._json(503, {"status": "not ready", "health": scorer.health()})
        elif path.startswith("/calls/") and len(path) > len("/calls/"):
            call_id = unquote(path[len("/calls/"):])
            found = scorer.call(call_id)
            if found is not None:
                self._json(200, found)
            elif scorer.expired:
                self._json(503, {"error": "scores expired: no successful read of Prometheus recently",
                                 "health": scorer.health()})
            else:
                self._json(404, {"error": f"no live call {call_id!r}"})
        else:
            self._json(404, {"error": "not found"})
