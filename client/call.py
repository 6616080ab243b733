"""One call's events, as the framework adapters report them: the labels, the clock and the checks in one place.

Values a framework hands over that the event schema would refuse (negative or non-finite seconds, empty
quantities, over-long labels) are left out here, so one odd measurement never costs the rest of its event.
"""

from __future__ import annotations

import math
import re
import threading
import time
import uuid

from voice_monitoring.client.sender import EventClient

MAX_SECONDS = 3600.0
MAX_LABEL = 128
STATES = ("greeting", "listening", "processing", "speaking")

_shared_client: EventClient | None = None
_shared_lock = threading.Lock()


def shared_client() -> EventClient:
    """The process's client, configured from the environment, created on first use."""
    global _shared_client
    with _shared_lock:
        if _shared_client is None:
            _shared_client = EventClient()
        return _shared_client


def seconds(value) -> float | None:
    """A duration the schema accepts, or None (frameworks use -1 or 0 for 'not measured')."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    if not math.isfinite(value) or value <= 0 or value > MAX_SECONDS:
        return None
    return value


def label(value) -> str | None:
    """A provider, model or component name as a label value: lower-case words joined by ``_``."""
    if not value:
        return None
    text = re.sub(r"[^0-9a-z.\-/]+", "_", str(value).strip().lower()).strip("_")
    return text[:MAX_LABEL] or None


class CallReporter:
    """Sends the events of one call; every method is cheap and never raises."""

    def __init__(
        self,
        client: EventClient | None = None,
        call_id: str | None = None,
        tenant: str | None = None,
        provider: str | None = None,
        pipeline: str | None = None,
        clock=time.time,
    ):
        self.client = client or shared_client()
        self.call_id = (call_id or f"call-{uuid.uuid4().hex[:16]}")[:MAX_LABEL]
        # tenant, provider and pipeline travel on every event, so a restarted exporter can adopt the call
        self.labels = {"tenant": tenant, "provider": label(provider), "pipeline": pipeline}
        self.clock = clock
        self.started_at: float | None = None
        self.ended = False
        self.state: str | None = None

    def _send(self, type: str, attrs: dict | None = None, **envelope) -> None:
        labels = dict(self.labels)
        labels.update({k: v for k, v in envelope.items() if v is not None})
        self.client.send(type, self.call_id, attrs, **labels)

    def start(self, transport: str | None = None) -> None:
        if self.started_at is not None:
            return
        self.started_at = self.clock()
        self._send("call.started", {"transport": transport} if transport else None)

    def end(self, reason: str) -> None:
        if self.ended or self.started_at is None:
            return
        self.ended = True
        duration = min(max(self.clock() - self.started_at, 0.0), 86400.0)
        self._send("call.ended", {"duration_seconds": duration, "reason": reason})

    def turn(self, latency, interrupted: bool | None = None, **components) -> bool:
        """A turn with its end-to-end latency and the component latencies present; False when latency is unusable."""
        latency = seconds(latency)
        if latency is None:
            return False
        attrs: dict = {"latency_seconds": latency}
        for key, value in components.items():
            value = seconds(value)
            if value is not None:
                attrs[key] = value
        if interrupted is not None:
            attrs["interrupted"] = interrupted
        self._send("turn", attrs)
        return True

    def latency(self, component: str, value, provider=None, model=None) -> None:
        value = seconds(value)
        if value is not None:
            self._send(
                "latency", {"component": component, "seconds": value}, provider=label(provider), model=label(model)
            )

    def usage(self, service: str, unit: str, quantity, provider=None, model=None) -> None:
        if isinstance(quantity, bool) or not isinstance(quantity, int | float) or not 0 < quantity <= 1e9:
            return
        self._send(
            "usage",
            {"service": service, "unit": unit, "quantity": quantity},
            provider=label(provider),
            model=label(model),
        )

    def interruption(self, kind: str = "barge_in", reaction=None) -> None:
        attrs = {"kind": kind}
        reaction = seconds(reaction)
        if reaction is not None and reaction <= 60:
            attrs["reaction_seconds"] = reaction
        self._send("interruption", attrs)

    def set_state(self, state: str) -> None:
        if state in STATES and state != self.state and not self.ended:
            self.state = state
            self._send("state", {"state": state})

    def error(self, component: str, kind: str, service: str | None = None, provider=None) -> None:
        attrs = {"component": label(component) or "unknown", "kind": label(kind) or "unknown"}
        if service:
            attrs["service"] = service
        self._send("error", attrs, provider=label(provider))
