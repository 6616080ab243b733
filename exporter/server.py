"""HTTP front of the exporter: POST /v1/events and /v1/traces (OTLP/HTTP), GET /metrics, /health, /ready, and
registered webhook routes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from voice_monitoring.exporter.core import Exporter
from voice_monitoring.exporter.credentials import BEARER_REASONS, EVENTS, TRACES, bearer_failure
from voice_monitoring.exporter.events import Unparsable
from voice_monitoring.exporter.exposition import CONTENT_TYPE
from voice_monitoring.exporter.housekeeping import Housekeeping
from voice_monitoring.exporter.otlp.receiver import TracesReceiver
from voice_monitoring.exporter.request_body import BadRequest, parse_body
from voice_monitoring.shared.http_service import HttpService, PostHandler, ServerLimits


class ExporterServer(HttpService):
    def __init__(
        self,
        address: tuple[str, int],
        exporter: Exporter,
        token: str | None = None,
        max_events: int = 10_000,
        limits: ServerLimits | None = None,
        housekeeping: Housekeeping | None = None,
    ):
        super().__init__(address, limits)
        self.exporter = exporter
        self.housekeeping = housekeeping  # the sweep and the checkpoints: run from bind to shutdown
        self.token = token
        self.max_events = max_events
        self.ready = False
        self.get("/metrics", lambda: (200, exporter.render(), CONTENT_TYPE))
        self.get("/health", lambda: (200, {"status": "ok", "live_calls": exporter.live_calls}))
        self.get("/ready", lambda: (200, {"status": "ready"}) if self.ready else (503, {"status": "starting"}))
        if token is not None:
            for endpoint in (EVENTS, TRACES):
                for reason in BEARER_REASONS:
                    exporter.count_auth_failure(endpoint, reason, 0)
        self.post("/v1/events", self._ingest, authorize=self._authorizer(EVENTS))
        traces = TracesReceiver(exporter, max_spans=max_events, max_bytes=self.limits.max_body_bytes)
        self.post("/v1/traces", traces, authorize=self._authorizer(TRACES))

    def serve(self, on_bound: Callable[[], None] = lambda: None) -> None:
        """Serve until SIGTERM or SIGINT, sweeping and checkpointing from the moment the port is bound; after the
        last request in flight, the sweep stops and the state is written a last time."""

        def bound() -> None:
            self._start_housekeeping()
            on_bound()

        super().serve(bound)

    @contextmanager
    def running(self) -> Iterator[HttpService]:
        with super().running() as service:
            self._start_housekeeping()
            yield service

    def _start_housekeeping(self) -> None:
        if self.housekeeping is not None:
            self.housekeeping.start()
            self.on_shutdown.insert(0, self.housekeeping.stop)

    def add_webhook(self, path: str, handler: PostHandler) -> None:
        """Serve ``POST path`` with ``handler(headers, body) -> (status, reply)``; ``reply`` is sent as JSON.

        Register before serving.  The server reads the body first, within the size limit
        (``--max-body-bytes``: 413 beyond it) and the body timeout (408), and replies 411 without a
        Content-Length; ``headers`` match names case-insensitively and ``body`` is the raw bytes, so the
        handler can check an HMAC signature over them.  The handler authenticates the request itself (the
        ingest bearer token does not apply), runs on the server's event loop (it must not block on I/O),
        and feeds events to ``self.exporter.ingest``.  An exception in it is a 500 and is logged.
        """
        self.post(path, handler)

    def _authorizer(self, endpoint: str) -> Callable[[Mapping[str, str]], str | None]:
        """The bearer-token check of one ingest route, counting each refusal under ``endpoint``."""

        def authorize(headers: Mapping[str, str]) -> str | None:
            if self.token is None:
                return None
            reason = bearer_failure(headers.get("Authorization"), self.token)
            if reason is None:
                return None
            self.exporter.count_auth_failure(endpoint, reason)
            return "missing or wrong bearer token"

        return authorize

    def _ingest(self, headers: Mapping[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            events, lines, fields_checked = parse_body(body, headers.get("Content-Type", ""), self.max_events)
        except BadRequest as exc:
            if exc.status == 400:
                self.exporter.ingest([Unparsable(str(exc))])
            return exc.status, {"error": str(exc)}
        accepted, duplicates, rejected = self.exporter.ingest(events, fields_checked=fields_checked)
        payload: dict[str, Any] = {"accepted": accepted, "duplicates": duplicates}
        if not rejected:
            return 200, payload
        if lines is not None:
            rejected = [{"index": lines[r["index"]], "error": r["error"]} for r in rejected]
        payload["rejected"] = rejected
        return 400, payload
