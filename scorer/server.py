"""HTTP front of the scorer: GET /metrics, /health, /ready and /calls/{call_id}."""

from __future__ import annotations

from urllib.parse import unquote

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from voice_monitoring.scorer.service import Scorer
from voice_monitoring.shared.http_service import HttpService, Reply, ServerLimits


class ScorerServer(HttpService):
    def __init__(self, address: tuple[str, int], scorer: Scorer, limits: ServerLimits | None = None):
        super().__init__(address, limits)
        self.scorer = scorer
        self.get("/metrics", lambda: (200, generate_latest(scorer.metrics.registry), CONTENT_TYPE_LATEST))
        self.get("/health", lambda: (200, scorer.health()))
        self.get("/ready", self._ready)
        self.get_prefix("/calls/", self._call)

    def _ready(self) -> Reply:
        if self.scorer.ready():
            return 200, {"status": "ready"}
        return 503, {"status": "not ready", "health": self.scorer.health()}

    def _call(self, quoted_id: str) -> Reply:
        call_id = unquote(quoted_id)
        found = self.scorer.call(call_id)
        if found is not None:
            return 200, found
        if self.scorer.expired:
            return 503, {
                "error": "scores expired: no successful read of Prometheus recently",
                "health": self.scorer.health(),
            }
        return 404, {"error": f"no live call {call_id!r}"}
