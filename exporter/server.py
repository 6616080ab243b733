"""HTTP front of the exporter: POST /v1/events, GET /metrics, /health, /ready."""

from __future__ import annotations

import hmac
import threading

import orjson

from voice_monitoring.exporter.exposition import CONTENT_TYPE
from voice_monitoring.exporter.mapping import Exporter
from voice_monitoring.shared.http_service import Handler, Server

JSON_TYPES = {"application/json"}
NDJSON_TYPES = {"application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines"}


class BadRequest(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _loads(text: bytes):
    """Strict JSON: NaN, Infinity and numbers beyond a double are refused, not turned into floats."""
    return orjson.loads(text)


def parse_body(body: bytes, content_type: str, max_events: int) -> tuple[list, list[dict]]:
    """Events of a request body and the NDJSON lines that could not be parsed, as [{index, error}].

    A JSON body that does not parse is refused whole (BadRequest 400); an NDJSON
    line that does not parse is one rejected event among the others.
    """
    media = content_type.split(";", 1)[0].strip().lower()
    if media in JSON_TYPES:
        try:
            data = _loads(body)
        except orjson.JSONDecodeError as exc:
            raise BadRequest(400, f"malformed JSON: {exc}") from None
        events = data if isinstance(data, list) else [data]
        if len(events) > max_events:
            raise BadRequest(413, f"a request carries at most {max_events} events")
        return events, []
    if media in NDJSON_TYPES:
        events, broken = [], []
        lines = body.splitlines()
        if sum(1 for line in lines if line.strip()) > max_events:
            raise BadRequest(413, f"a request carries at most {max_events} events")
        for line in lines:
            if not line.strip():
                continue
            try:
                events.append(_loads(line))
            except orjson.JSONDecodeError as exc:
                broken.append({"index": len(events) + len(broken), "error": f"malformed JSON: {exc}"})
                events.append(None)
        return events, broken
    raise BadRequest(415, "Content-Type must be application/json or application/x-ndjson")


class ExporterServer(Server):
    def __init__(
        self,
        address,
        exporter: Exporter,
        token: str | None = None,
        max_body_bytes: int = 5 * 1024 * 1024,
        max_events: int = 10_000,
    ):
        super().__init__(address, _Handler)
        self.exporter = exporter
        self.token = token
        self.max_body_bytes = max_body_bytes
        self.max_events = max_events
        self.ready = threading.Event()


class _Handler(Handler):
    server: ExporterServer

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self.send(200, self.server.exporter.render(), CONTENT_TYPE)
        elif path == "/health":
            self.send_json(200, {"status": "ok", "live_calls": self.server.exporter.live_calls})
        elif path == "/ready":
            if self.server.ready.is_set():
                self.send_json(200, {"status": "ready"})
            else:
                self.send_json(503, {"status": "starting"})
        else:
            self.send_json(404, {"error": "not found"})

    def _refuse(self, status: int, message: str) -> None:
        """Answer without reading the body, which makes the connection unusable afterwards."""
        self.close_connection = True
        self.send_json(status, {"error": message})

    def do_POST(self):
        server = self.server
        if self.path.split("?", 1)[0] != "/v1/events":
            return self._refuse(404, "not found")
        if server.token is not None:
            given = self.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {server.token}".encode()):
                return self._refuse(401, "missing or wrong bearer token")
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return self._refuse(411, "Content-Length is required")
        if length < 0:
            return self._refuse(400, "Content-Length must not be negative")
        if length > server.max_body_bytes:
            return self._refuse(413, f"body larger than {server.max_body_bytes} bytes")
        body = self.rfile.read(length)
        try:
            events, broken = parse_body(body, self.headers.get("Content-Type", ""), server.max_events)
        except BadRequest as exc:
            if exc.status == 400:
                server.exporter.reject_unparsable(1, "malformed_json")
            self.send_json(exc.status, {"error": str(exc)})
            return
        broken_at = {b["index"] for b in broken}
        if broken:
            server.exporter.reject_unparsable(len(broken), "malformed_json")
        accepted, duplicates, rejected = server.exporter.ingest([e for i, e in enumerate(events) if i not in broken_at])
        if broken:
            rejected = _reindex(rejected, broken_at) + broken
            rejected.sort(key=lambda r: r["index"])
        payload = {"accepted": accepted, "duplicates": duplicates}
        if rejected:
            payload["rejected"] = rejected
            self.send_json(400, payload)
        else:
            self.send_json(200, payload)


def _reindex(rejected: list[dict], skipped: set[int]) -> list[dict]:
    """Map indexes in the list without the unparsable lines back to indexes in the request."""
    if not rejected:
        return rejected
    original = [i for i in range(max(r["index"] for r in rejected) + len(skipped) + 1) if i not in skipped]
    return [{"index": original[r["index"]], "error": r["error"]} for r in rejected]
