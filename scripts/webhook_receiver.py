"""A local stand-in for Slack and webhook endpoints: prints every notification Alertmanager sends.

    python scripts/webhook_receiver.py --port 9095

Alertmanager's webhook receiver posts its JSON payload (status, alerts with labels and annotations);
its Slack receiver posts the rendered message (text, attachments).  Both are accepted on any path, printed,
and kept in memory; ``GET /notifications`` returns them as JSON.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TextIO

MAX_BODY_BYTES = 1024 * 1024


@dataclass
class Notification:
    path: str
    received_at: float
    body: dict
    authorization: str | None = None

    @property
    def kind(self) -> str:
        return "webhook" if "alerts" in self.body else "slack" if ("text" in self.body or "attachments" in self.body) \
            else "unknown"

    def alerts(self) -> list[dict]:
        """The alerts of a webhook notification (a Slack message carries rendered text only)."""
        return self.body.get("alerts", [])

    def text(self) -> str:
        """Every human-readable string in the message: Slack text and attachment fields."""
        parts = [self.body.get("text") or ""]
        for attachment in self.body.get("attachments", []):
            for key in ("pretext", "title", "text", "fallback", "footer"):
                parts.append(attachment.get(key) or "")
            for field in attachment.get("fields", []):
                parts.append(f"{field.get('title', '')}: {field.get('value', '')}")
        return "\n".join(part for part in parts if part)


def describe(notification: Notification) -> str:
    stamp = time.strftime("%H:%M:%S", time.localtime(notification.received_at))
    head = f"[{stamp}] {notification.kind} notification on {notification.path}"
    if notification.kind == "webhook":
        body = notification.body
        lines = [f"{head}: {body.get('status', '?').upper()} group {body.get('groupLabels', {})} "
                 f"receiver {body.get('receiver', '?')}"]
        for alert in notification.alerts():
            labels = alert.get("labels", {})
            annotations = alert.get("annotations", {})
            others = {k: v for k, v in labels.items() if k not in ("alertname", "severity")}
            lines.append(f"  {alert.get('status', '?'):8} {labels.get('alertname', '?')} "
                         f"severity={labels.get('severity', '?')} {others}")
            for key in ("summary", "description", "runbook_url"):
                if annotations.get(key):
                    lines.append(f"           {key}: {annotations[key]}")
        return "\n".join(lines)
    text = notification.text() or json.dumps(notification.body)
    channel = f" for {notification.body['channel']}" if notification.body.get("channel") else ""
    return f"{head}{channel}:\n" + "\n".join("  " + line for line in text.splitlines() if line.strip())


class WebhookReceiver:
    """The receiver as a library: ``start()`` serves on a thread, ``stop()`` shuts it down."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, out: TextIO | None = sys.stdout):
        self._lock = threading.Lock()
        self._notifications: list[Notification] = []
        self._out = out
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def notifications(self) -> list[Notification]:
        with self._lock:
            return list(self._notifications)

    def record(self, notification: Notification) -> None:
        with self._lock:
            self._notifications.append(notification)
        if self._out is not None:
            with self._lock:
                self._out.write(describe(notification) + "\n")
                self._out.flush()

    def start(self) -> "WebhookReceiver":
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY_BYTES:
                    return self._reply(413, {"error": "body too large"})
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError as exc:
                    return self._reply(400, {"error": f"not JSON: {exc}"})
                if not isinstance(body, dict):
                    return self._reply(400, {"error": "expected a JSON object"})
                receiver.record(Notification(self.path, time.time(), body, self.headers.get("Authorization")))
                self._reply(200, {"status": "ok"})

            def do_GET(self):
                if self.path in ("/-/healthy", "/-/ready"):
                    return self._reply(200, {"status": "ok"})
                if self.path == "/notifications":
                    return self._reply(200, [asdict(n) for n in receiver.notifications()])
                self._reply(404, {"error": "not found"})

            def _reply(self, status: int, payload) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format, *args):
                pass

        return Handler


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Print every notification Alertmanager sends to this address.")
    p.add_argument("--listen-address", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=9095, help="port to listen on (default 9095)")
    args = p.parse_args(argv)
    receiver = WebhookReceiver(args.listen_address, args.port)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: threading.Thread(target=receiver.stop, daemon=True).start())
    print(f"webhook receiver listening on {receiver.url}", flush=True)
    receiver.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
