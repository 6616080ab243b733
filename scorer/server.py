"""HTTP front of the scorer: GET /metrics, /health, /ready and /calls/{call_id}."""

from __future__ import annotations

from urllib.parse import unquote

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from voice_monitoring.scorer.service import Scorer
from voice_monitoring.shared.http_service import Handler, Server


class ScorerServer(Server):
    def __init__(self, address, scorer: Scorer):
        super().__init__(address, _Handler)
        self.scorer = scorer


class _Handler(Handler):
    server: ScorerServer

    def do_GET(self):
        scorer = self.server.scorer
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self.send(200, generate_latest(scorer.metrics.registry), CONTENT_TYPE_LATEST)
        elif path == "/health":
            self.send_json(200, scorer.health())
        elif path == "/ready":
            if scorer.ready():
                self.send_json(200, {"status": "ready"})
            else:
                self.send_json(503, {"status": "not ready", "health": scorer.health()})
        elif path.startswith("/calls/") and len(path) > len("/calls/"):
            call_id = unquote(path[len("/calls/") :])
            found = scorer.call(call_id)
            if found is not None:
                self.send_json(200, found)
            elif scorer.expired:
                self.send_json(
                    503,
                    {"error": "scores expired: no successful read of Prometheus recently", "health": scorer.health()},
                )
            else:
                self.send_json(404, {"error": f"no live call {call_id!r}"})
        else:
            self.send_json(404, {"error": "not found"})
