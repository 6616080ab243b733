"""The exporter's webhook route contract: POST handlers get the raw body within the server's limits."""

import asyncio
import hashlib
import hmac
import time

import requests

from voice_monitoring.exporter.core import Exporter
from voice_monitoring.exporter.server import ExporterServer
from voice_monitoring.shared.http_service import ServerLimits

SECRET = b"webhook-secret"


def signed_receiver(exporter: Exporter):
    def handler(headers, body: bytes):
        expected = hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(headers.get("x-signature", ""), expected):
            return 401, {"error": "bad signature"}
        accepted, _, rejected = exporter.ingest(
            [{"type": "call.started", "ts": time.time(), "call_id": body.decode(), "tenant": "t", "provider": "p"}]
        )
        return (200 if not rejected else 400), {"accepted": accepted}

    return handler


def test_a_registered_webhook_gets_the_raw_body_and_headers_and_answers_in_json():
    exporter = Exporter()
    server = ExporterServer(("127.0.0.1", 0), exporter, token="ingest-token", limits=ServerLimits(max_body_bytes=64))
    server.add_webhook("/v1/webhooks/test", signed_receiver(exporter))
    with server.running():
        url = f"http://127.0.0.1:{server.port}/v1/webhooks/test"
        body = b"call-42"
        signature = hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        ok = requests.post(url, data=body, headers={"X-Signature": signature}, timeout=5)
        assert (ok.status_code, ok.json()) == (200, {"accepted": 1})
        forged = requests.post(url, data=body, headers={"X-Signature": "0" * 64}, timeout=5)
        assert (forged.status_code, forged.json()) == (401, {"error": "bad signature"})
        too_big = requests.post(url, data=b"x" * 65, headers={"X-Signature": signature}, timeout=5)
        assert too_big.status_code == 413 and "error" in too_big.json()
        wrong_method = requests.get(url, timeout=5)
        assert wrong_method.status_code == 405 and wrong_method.headers["Allow"] == "POST"
    assert list(exporter.registry.calls) == ["call-42"]


def test_shutdown_callbacks_run_after_the_server_stops():
    exporter = Exporter()
    server = ExporterServer(("127.0.0.1", 0), exporter)
    calls = []
    server.on_shutdown.append(lambda: calls.append(requests.Session))
    with server.running():
        assert requests.get(f"http://127.0.0.1:{server.port}/health", timeout=5).status_code == 200
        assert calls == []
    assert len(calls) == 1


def test_the_service_runs_its_handlers_on_uvloop():
    server = ExporterServer(("127.0.0.1", 0), Exporter())
    server.get("/loop", lambda: (200, {"loop": type(asyncio.get_running_loop()).__module__}))
    with server.running():
        reply = requests.get(f"http://127.0.0.1:{server.port}/loop", timeout=5)
    assert reply.json()["loop"].startswith("uvloop")
