"""One call's events, as the framework adapters report them: the labels, the clock and the checks in one place.

Values a framework hands over that the event schema would refuse (negative or non-finite seconds, empty
quantities, over-long labels) are left out here, so one odd measurement never costs the rest of its event.
"""

from __future__ import annotations

import math
import numbers
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from voice_monitoring.client import worker_health
from voice_monitoring.client.sender import EventClient, log

MAX_SECONDS = 3600.0
MAX_LABEL = 128
STATES = ("greeting", "listening", "processing", "speaking")
AUDIO_STAGES = ("caller_in", "stt_in", "tts_out", "agent_out")
SERVICES = ("stt", "llm", "tts", "transport", "platform")

# The attributes of the measurement events that the adapters fill, with the range the event schema accepts
# (a test holds these to exporter/events.py, which the client does not import): (kind, minimum, maximum).
Rule = tuple[str, float | None, float | None]
AUDIO_ATTRS: dict[str, Rule] = {
    "underflow": ("integer", 0, 1_000_000),
    "fallback": ("integer", 0, 1_000_000),
    "jitter_buffer_depth": ("number", 0.0, 10_000.0),
    "codec_alignment": ("boolean", None, None),
    "rms": ("number", 0.0, 1.0),
    "dc_offset": ("number", -1.0, 1.0),
    "clipping_ratio": ("number", 0.0, 1.0),
    "vad_confidence": ("number", 0.0, 1.0),
}
TRANSPORT_ATTRS: dict[str, Rule] = {
    "rtt_seconds": ("number", 0.0, 10.0),
    "jitter_seconds": ("number", 0.0, 10.0),
    "packet_loss_ratio": ("number", 0.0, 1.0),
    "burst_ratio": ("number", 1.0, 100.0),
    "concealment_ratio": ("number", 0.0, 1.0),
    "codec": ("string", None, None),
    "bytes_rx": ("integer", 0, 1_000_000_000_000),
    "bytes_tx": ("integer", 0, 1_000_000_000_000),
    "connection_lost": ("boolean", None, None),
}

_shared_client: EventClient | None = None
_shared_lock = threading.Lock()


def shared_client() -> EventClient:
    """The process's client, configured from the environment, created on first use."""
    global _shared_client
    with _shared_lock:
        if _shared_client is None:
            _shared_client = EventClient()
        return _shared_client


def seconds(value: object) -> float | None:
    """A duration the schema accepts, or None (frameworks use -1 or 0 for 'not measured')."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    if not math.isfinite(number) or number <= 0 or number > MAX_SECONDS:
        return None
    return number


def label(value: object) -> str | None:
    """A provider, model or component name as a label value: lower-case words joined by ``_``."""
    if not value:
        return None
    text = re.sub(r"[^0-9a-z.\-/]+", "_", str(value).strip().lower()).strip("_")
    return text[:MAX_LABEL] or None


def measurement(value: object, kind: str, low: float | None, high: float | None) -> bool | str | float | None:
    """``value`` as the schema's ``kind`` within [low, high], or None (numpy scalars are accepted)."""
    if kind == "boolean":
        return bool(value) if type(value).__name__ in ("bool", "bool_") else None
    if kind == "string":
        return label(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    number: float
    if kind == "integer":
        if not isinstance(value, numbers.Integral):
            return None
        number = int(value)
    else:
        number = float(value)
        if not math.isfinite(number):
            return None
    return number if low is not None and high is not None and low <= number <= high else None


def measurements(attrs: object, spec: Mapping[str, Rule]) -> dict[str, Any]:
    """The attributes of ``attrs`` that ``spec`` knows and whose values it accepts."""
    if not isinstance(attrs, dict):
        return {}
    valid = {}
    for key, value in attrs.items():
        rule = spec.get(key)
        if rule is not None and value is not None:
            accepted = measurement(value, *rule)
            if accepted is not None:
                valid[key] = accepted
    return valid


class CallReporter:
    """Sends the events of one call; every method is cheap and never raises."""

    def __init__(
        self,
        client: EventClient | None = None,
        call_id: str | None = None,
        tenant: str | None = None,
        provider: str | None = None,
        pipeline: str | None = None,
        clock: Callable[[], float] = time.time,
        agent: str | None = None,
        agent_version: str | None = None,
    ):
        self.client = client or shared_client()
        self.call_id = (call_id or f"call-{uuid.uuid4().hex[:16]}")[:MAX_LABEL]
        # the labels travel on every event, so a restarted exporter can adopt the call
        self.labels = {
            "tenant": tenant,
            "provider": label(provider),
            "pipeline": pipeline,
            "agent": str(agent)[:MAX_LABEL] if agent else None,
            "agent_version": str(agent_version)[:MAX_LABEL] if agent_version else None,
        }
        self.clock = clock
        self.started_at: float | None = None
        self.ended = False
        self.state: str | None = None
        self.flags: dict[str, bool] = {}  # the tts_gating and audio_capture last sent

    def _send(
        self, type: str, attrs: dict[str, Any] | None = None, provider: str | None = None, model: str | None = None
    ) -> None:
        labels = self.labels
        self.client.send(
            type,
            self.call_id,
            attrs,
            tenant=labels["tenant"],
            provider=provider or labels["provider"],
            pipeline=labels["pipeline"],
            agent=labels["agent"],
            agent_version=labels["agent_version"],
            model=model,
        )

    def start(self, transport: str | None = None) -> None:
        if self.started_at is not None:
            return
        self.started_at = self.clock()
        self._send("call.started", {"transport": transport} if transport else None)
        try:
            worker_health.ticker().call_started(self)
        except Exception:  # a monitoring bug must never reach the agent
            log.debug("starting the worker health ticker failed", exc_info=True)

    def end(self, reason: str) -> None:
        if self.ended or self.started_at is None:
            return
        self.ended = True
        duration = min(max(self.clock() - self.started_at, 0.0), 86400.0)
        self._send("call.ended", {"duration_seconds": duration, "reason": reason})
        try:
            worker_health.ticker().call_ended(self)
        except Exception:  # a monitoring bug must never reach the agent
            log.debug("stopping the worker health ticker failed", exc_info=True)

    def turn(self, latency: object, interrupted: bool | None = None, **components: object) -> bool:
        """A turn with its end-to-end latency and the component latencies present; False when latency is unusable."""
        total = seconds(latency)
        if total is None:
            return False
        attrs: dict[str, Any] = {"latency_seconds": total}
        for key, value in components.items():
            part = seconds(value)
            if part is not None:
                attrs[key] = part
        if interrupted is not None:
            attrs["interrupted"] = interrupted
        self._send("turn", attrs)
        return True

    def latency(self, component: str, value: object, provider: object = None, model: object = None) -> None:
        measured = seconds(value)
        if measured is not None:
            self._send(
                "latency", {"component": component, "seconds": measured}, provider=label(provider), model=label(model)
            )

    def usage(self, service: str, unit: str, quantity: object, provider: object = None, model: object = None) -> None:
        if isinstance(quantity, bool) or not isinstance(quantity, int | float) or not 0 < quantity <= 1e9:
            return
        self._send(
            "usage",
            {"service": service, "unit": unit, "quantity": quantity},
            provider=label(provider),
            model=label(model),
        )

    def interruption(self, kind: str = "barge_in", reaction: object = None) -> None:
        attrs: dict[str, Any] = {"kind": kind}
        reaction_seconds = seconds(reaction)
        if reaction_seconds is not None and reaction_seconds <= 60:
            attrs["reaction_seconds"] = reaction_seconds
        self._send("interruption", attrs)

    def set_state(self, state: str, tts_gating: bool | None = None, audio_capture: bool | None = None) -> None:
        """The conversation state; with it, whether the caller's audio is gated while the agent speaks and whether
        caller audio capture is on, when given and changed."""
        if state not in STATES or self.ended:
            return
        attrs: dict[str, Any] = {"state": state} if state != self.state else {}
        for key, flag in (("tts_gating", tts_gating), ("audio_capture", audio_capture)):
            if isinstance(flag, bool) and flag != self.flags.get(key):
                attrs[key] = self.flags[key] = flag
        if attrs:
            self.state = state
            self._send("state", attrs)

    def audio(self, attrs: Mapping[str, Any]) -> None:
        """An ``audio`` event: levels, clipping, underflows, codec alignment of one ``stage`` since the last one."""
        try:
            if self.ended:
                return
            valid = measurements(attrs, AUDIO_ATTRS)
            if not valid:
                return
            stage = attrs.get("stage")
            if stage in AUDIO_STAGES:
                valid = {"stage": stage, **valid}
            self._send("audio", valid)
        except Exception:  # a monitoring bug must never reach the agent
            log.debug("an audio event failed", exc_info=True)

    def transport(self, attrs: Mapping[str, Any]) -> None:
        """A ``transport`` event: the media connection's RTT, jitter, loss, concealment and bytes since the last one."""
        try:
            if self.ended:
                return
            valid = measurements(attrs, TRANSPORT_ATTRS)
            if valid:
                self._send("transport", valid)
        except Exception:  # a monitoring bug must never reach the agent
            log.debug("a transport event failed", exc_info=True)

    def provider_health(self, service: str, provider: object, up: object, breaker: object = None) -> None:
        """A provider's ``service`` became reachable (``up``) or not; with ``breaker``, that circuit breaker closed
        or opened with it. Not a fact of the call: the event carries no call id."""
        try:
            provider_label = label(provider)
            if service not in SERVICES or not isinstance(up, bool) or provider_label is None:
                return
            attrs: dict[str, Any] = {"service": service, "up": up}
            breaker_label = label(breaker)
            if breaker_label is not None:
                attrs.update(breaker=breaker_label, breaker_state="closed" if up else "open")
            self.client.send("health", None, attrs, provider=provider_label)
        except Exception:  # a monitoring bug must never reach the agent
            log.debug("a health event failed", exc_info=True)

    def error(self, component: str, kind: str, service: str | None = None, provider: object = None) -> None:
        attrs = {"component": label(component) or "unknown", "kind": label(kind) or "unknown"}
        if service:
            attrs["service"] = service
        self._send("error", attrs, provider=label(provider))
