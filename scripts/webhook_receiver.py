"""A local stand-in for Slack and webhook endpoints: prints every notification Alertmanager sends.

    python scripts/webhook_receiver.py --port 9095

Alertmanager's webhook receiver posts its JSON payload (status, alerts with labels and annotations);
its Slack receiver posts the rendered message (text, attachments).  Both are accepted on any path, printed,
and kept in memory; ``GET /notifications`` returns them as JSON.

The receiver is idempotent, as a receiver behind an Alertmanager cluster must be: HA delivery is at least once,
so a notification repeated by another peer (same path, group, status, alerts and start times) is acknowledged
and counted but kept once, and a "firing" that arrives after the "resolved" of the same alerts is stale and
set aside the same way.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections import OrderedDict, deque
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TextIO

from scripts.local_inbox import LocalInbox

MAX_BODY_BYTES = 1024 * 1024
# Notifications remembered for recognising repeats; the oldest are forgotten first.
REMEMBERED = 10_000


class JsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # the receiver prints what it receives, not access logs
        pass

    def send_json(self, status: int, payload) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@dataclass
class Notification:
    path: str
    received_at: float
    body: dict
    authorization: str | None = None

    @property
    def kind(self) -> str:
        return (
            "webhook"
            if "alerts" in self.body
            else "slack"
            if ("text" in self.body or "attachments" in self.body)
            else "unknown"
        )

    def identity(self) -> tuple:
        """What makes two deliveries the same notification: Alertmanager peers differ only in externalURL."""
        if self.kind != "webhook":
            return (self.path, json.dumps(self.body, sort_keys=True))
        alerts = sorted((_alert_id(a), a.get("status", ""), a.get("startsAt", "")) for a in self.alerts())
        return (self.path, self.body.get("groupKey"), self.body.get("status"), tuple(alerts))

    def alert_keys(self) -> set[tuple]:
        return {(self.path, _alert_id(a), a.get("startsAt", "")) for a in self.alerts()}

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


def _alert_id(alert: dict) -> str:
    return alert.get("fingerprint") or json.dumps(alert.get("labels", {}), sort_keys=True)


def describe(notification: Notification) -> str:
    stamp = time.strftime("%H:%M:%S", time.localtime(notification.received_at))
    head = f"[{stamp}] {notification.kind} notification on {notification.path}"
    if notification.kind == "webhook":
        body = notification.body
        lines = [
            f"{head}: {body.get('status', '?').upper()} group {body.get('groupLabels', {})} "
            f"receiver {body.get('receiver', '?')}"
        ]
        for alert in notification.alerts():
            labels = alert.get("labels", {})
            annotations = alert.get("annotations", {})
            others = {k: v for k, v in labels.items() if k not in ("alertname", "severity")}
            lines.append(
                f"  {alert.get('status', '?'):8} {labels.get('alertname', '?')} "
                f"severity={labels.get('severity', '?')} {others}"
            )
            for key in ("summary", "description", "runbook_url"):
                if annotations.get(key):
                    lines.append(f"           {key}: {annotations[key]}")
        return "\n".join(lines)
    text = notification.text() or json.dumps(notification.body)
    channel = f" for {notification.body['channel']}" if notification.body.get("channel") else ""
    return f"{head}{channel}:\n" + "\n".join("  " + line for line in text.splitlines() if line.strip())


class WebhookReceiver(LocalInbox):
    """The receiver as a library: ``start()`` serves on a thread, ``stop()`` shuts it down."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, out: TextIO | None = sys.stdout):
        super().__init__(ThreadingHTTPServer((host, port), self._handler()), out, "webhook-receiver")
        self._seen: OrderedDict[tuple, None] = OrderedDict()
        self._resolved: OrderedDict[tuple, None] = OrderedDict()
        self.deliveries: deque[Notification] = deque(maxlen=REMEMBERED)  # repeats included
        self.repeats = 0
        self.stale = 0

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def notifications(self) -> list[Notification]:
        return self.items()

    def record_notification(self, notification: Notification) -> str:
        """Keep a new notification; count a repeat or a stale "firing". Returns which of the three it was."""
        with self._lock:
            self.deliveries.append(notification)
            identity = notification.identity()
            if identity in self._seen:
                self.repeats += 1
                return "repeat"
            _remember(self._seen, identity)
            keys = notification.alert_keys()
            if notification.body.get("status") == "firing" and keys and keys <= self._resolved.keys():
                self.stale += 1
                return "stale"
            if notification.body.get("status") == "resolved":
                for key in keys:
                    _remember(self._resolved, key)
        self.record(notification, describe(notification))
        return "new"

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def _handler(self):
        receiver = self

        class Handler(JsonHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY_BYTES:
                    return self.send_json(413, {"error": "body too large"})
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError as exc:
                    return self.send_json(400, {"error": f"not JSON: {exc}"})
                if not isinstance(body, dict):
                    return self.send_json(400, {"error": "expected a JSON object"})
                notification = Notification(self.path, time.time(), body, self.headers.get("Authorization"))
                outcome = receiver.record_notification(notification)
                self.send_json(200, {"status": "ok" if outcome == "new" else outcome})

            def do_GET(self):
                if self.path in ("/-/healthy", "/-/ready"):
                    return self.send_json(200, {"status": "ok"})
                if self.path == "/notifications":
                    return self.send_json(200, [asdict(n) for n in receiver.notifications()])
                self.send_json(404, {"error": "not found"})

        return Handler


def _remember(memory: OrderedDict, key: tuple) -> None:
    memory[key] = None
    while len(memory) > REMEMBERED:
        memory.popitem(last=False)


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
