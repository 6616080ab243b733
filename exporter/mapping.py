"""The mapping layer: a validated event in, metric updates out."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from voice_monitoring.exporter.calls import Call, CallTable
from voice_monitoring.exporter.events import BREAKER_STATES, InvalidEvent, normalize_reason, validate
from voice_monitoring.exporter.fleet import FleetMetrics
from voice_monitoring.exporter.labels import UNKNOWN, LabelLimiter
from voice_monitoring.exporter.pricing import PriceTable

log = logging.getLogger("voice-exporter")

TURN_COMPONENTS = (
    ("stt_seconds", "stt", "stt"),
    ("llm_ttft_seconds", "llm_ttft", "llm"),
    ("tts_ttfb_seconds", "tts_ttfb", "tts"),
    ("endpointing_seconds", "endpointing", None),
)
SERVICE_OF_COMPONENT = {
    "stt": "stt",
    "llm_ttft": "llm",
    "tts_ttfb": "tts",
    "network": "transport",
    "endpointing": "stt",
}
AGENT_STAGES = ("tts_out", "agent_out")


@dataclass
class Limits:
    label_values: int = 100
    grace_seconds: float = 120.0
    idle_seconds: float = 600.0
    dedup_seconds: float = 600.0
    dedup_max_ids: int = 1_000_000
    max_live_calls: int = 50_000
    max_age_seconds: float = 3600.0
    max_future_seconds: float = 300.0
    report_ttl_seconds: float = 300.0  # a last-reported value (worker, breaker, provider up, ...) lasts this long


class Exporter:
    """Applies events to the metrics.  Thread-safe: every mutation holds ``lock``."""

    def __init__(self, limits: Limits | None = None, prices: PriceTable | None = None, clock=time.time):
        self.limits = limits or Limits()
        self.prices = prices or PriceTable.default()
        self.clock = clock
        self.lock = threading.Lock()
        self.fleet = FleetMetrics()
        self.table = CallTable(self.limits.grace_seconds, self.limits.idle_seconds)
        self.label = LabelLimiter(self.limits.label_values, self._on_fold)
        self._seen_ids: set[str] = set()
        self._seen_order: deque[tuple[float, str]] = deque()
        self._reported: dict[tuple, float] = {}  # (metric, labels) of last-reported gauges -> when
        self._handlers = {
            "call.started": self._call_started,
            "call.ended": self._call_ended,
            "turn": self._turn,
            "latency": self._latency,
            "usage": self._usage,
            "cost": self._cost,
            "audio": self._audio,
            "transport": self._transport,
            "interruption": self._interruption,
            "state": self._state,
            "health": self._health,
            "error": self._error,
        }

    # --- ingest -----------------------------------------------------------------

    def ingest(self, events: list[Any]) -> tuple[int, int, list[dict]]:
        """Apply a batch. Returns (accepted, duplicates, [{index, error}] of rejected events)."""
        accepted = duplicates = 0
        rejected = []
        accepted_by_type: dict[str, int] = {}
        with self.lock:
            now = self.clock()
            self._forget_ids(now)
            fleet = self.fleet
            for index, event in enumerate(events):
                etype = event.get("type") if isinstance(event, dict) else None
                try:
                    validate(event, now, self.limits.max_age_seconds, self.limits.max_future_seconds)
                    event_id = event.get("id")
                    if event_id is not None and event_id in self._seen_ids:
                        duplicates += 1
                        fleet.child("ai_agent_exporter_events_duplicate_total", etype).inc()
                        continue
                    try:
                        self._handlers[etype](event, event.get("attrs") or {}, now)
                    except InvalidEvent:
                        raise
                    except Exception as exc:  # a bug of ours must not take the batch or the service down
                        log.exception("applying a %s event failed", etype)
                        raise InvalidEvent("internal_error", f"the exporter could not apply this event: {exc}") from exc
                except InvalidEvent as exc:
                    rejected.append({"index": index, "error": str(exc)})
                    label = etype if isinstance(etype, str) and etype in self._handlers else "unknown"
                    fleet.child("ai_agent_exporter_events_rejected_total", label, exc.reason).inc()
                    continue
                if event_id is not None:
                    self._seen_ids.add(event_id)
                    self._seen_order.append((now + self.limits.dedup_seconds, event_id))
                    if len(self._seen_order) > self.limits.dedup_max_ids:
                        self._seen_ids.discard(self._seen_order.popleft()[1])
                accepted += 1
                accepted_by_type[etype] = accepted_by_type.get(etype, 0) + 1
            for etype, count in accepted_by_type.items():
                fleet.child("ai_agent_exporter_events_accepted_total", etype).inc(count)
        return accepted, duplicates, rejected

    def reject_unparsable(self, count: int, reason: str) -> None:
        """Count events that never reached validation (a malformed body or NDJSON line)."""
        with self.lock:
            self.fleet.child("ai_agent_exporter_events_rejected_total", "unknown", reason).inc(count)

    def render(self) -> bytes:
        """The whole exposition: fleet and self metrics, then the per-call series."""
        with self.lock:
            per_call, count = self.table.render()
            self.fleet.child("ai_agent_exporter_live_calls").set(len(self.table.calls))
            self.fleet.child("ai_agent_exporter_per_call_series").set(count)
            fleet = self.fleet.render()
        return (fleet + per_call).encode()

    def sweep(self) -> int:
        """Expire calls past their grace period or idle timeout; returns how many were removed."""
        removed = 0
        with self.lock:
            now = self.clock()
            for call, reason in list(self.table.expired(now)):
                if reason == "idle":
                    self._settle(call)
                    self._leave_live_gauges(call)
                self.fleet.child("ai_agent_exporter_calls_expired_total", reason).inc()
                removed += 1
            self._forget_ids(now)
            cutoff = now - self.limits.report_ttl_seconds
            for key in [k for k, at in self._reported.items() if at < cutoff]:
                del self._reported[key]
                self.fleet.remove(key[0], *key[1])
        return removed

    def _report(self, now: float, value: float, name: str, *labels: str) -> None:
        """Set a gauge that holds the last value somebody reported; it goes away when reports stop."""
        self.fleet.child(name, *labels).set(value)
        self._reported[(name, labels)] = now

    def _forget_ids(self, now: float) -> None:
        order = self._seen_order
        while order and order[0][0] <= now:
            self._seen_ids.discard(order.popleft()[1])

    def _on_fold(self, label: str) -> None:
        self.fleet.child("ai_agent_exporter_label_values_folded_total", label).inc()

    # --- helpers ------------------------------------------------------------------

    def _labels(self, event: dict, now: float) -> tuple[Call | None, str, str, str]:
        """The event's call (created on first sight) and its tenant, provider and pipeline labels.

        A label the event omits is inherited from its call, else ``unknown``.
        """
        call_id = event.get("call_id")
        call = self.table.calls.get(call_id) if call_id is not None else None
        lbl = self._lbl
        tenant, provider, pipeline = (
            lbl(event, "tenant", call),
            lbl(event, "provider", call),
            lbl(event, "pipeline", call),
        )
        if call_id is not None and call is None:
            if self.table.recently_removed(call_id):
                raise InvalidEvent("call_expired", f"call {call_id} has ended and its series were removed")
            if len(self.table.calls) >= self.limits.max_live_calls:
                raise InvalidEvent(
                    "too_many_calls", f"the exporter already tracks {self.limits.max_live_calls} live calls"
                )
            call = self.table.calls[call_id] = Call(call_id, tenant, provider, pipeline, now)
        if call is not None:
            call.last_seen = now
        return call, tenant, provider, pipeline

    def _lbl(self, event: dict, key: str, call: Call | None) -> str:
        value = event.get(key)
        if value is None:
            return getattr(call, key) if call is not None else UNKNOWN
        return self.label(key, value)

    # --- handlers -------------------------------------------------------------------

    def _call_started(self, event, attrs, now):
        call = self.table.calls.get(event["call_id"])
        if call is not None and (call.started or call.ended):
            raise InvalidEvent("call_already_started", f"call {event['call_id']} has already started")
        call, tenant, provider, pipeline = self._labels(event, now)
        call.tenant, call.provider, call.pipeline = tenant, provider, pipeline
        call.model = event.get("model")
        call.started = True
        call.started_at = event["ts"]
        f = self.fleet
        f.child("ai_agent_calls_started_total", tenant, provider, pipeline).inc()
        f.child("ai_agent_active_calls", tenant, provider).inc()
        call.transport = attrs.get("transport")
        if call.transport:
            f.child("ai_agent_active_calls_by_transport", call.transport).inc()
        if "codec" in attrs:
            call.codec = self.label("codec", attrs["codec"])

    def _call_ended(self, event, attrs, now):
        existing = self.table.calls.get(event["call_id"])
        if existing is not None and existing.ended:
            raise InvalidEvent("call_already_ended", f"call {event['call_id']} has already ended")
        call, tenant, provider, pipeline = self._labels(event, now)
        f = self.fleet
        f.child(
            "ai_agent_calls_ended_total", call.tenant, call.provider, call.pipeline, normalize_reason(attrs["reason"])
        ).inc()
        f.child("ai_agent_call_duration_seconds", call.pipeline, call.provider).observe(attrs["duration_seconds"])
        self._settle(call)
        f.child("ai_agent_call_cost_usd", call.tenant).observe(call.running_cost())
        self._leave_live_gauges(call)
        self.table.mark_ended(call, now)

    def _settle(self, call: Call) -> None:
        """Book the priced cost of services that reported no cost of their own."""
        for service, provider, unit, model, quantity in call.usage:
            if service in call.reported_cost:
                continue
            usd = self.prices.price(service, provider, model, unit, quantity)
            self.fleet.child("ai_agent_cost_usd_total", call.tenant, provider, service).inc(usd)
            self.fleet.child("ai_agent_exporter_usage_priced_total", service).inc()
        call.usage = []

    def _leave_live_gauges(self, call: Call) -> None:
        f = self.fleet
        if call.started:
            f.child("ai_agent_active_calls", call.tenant, call.provider).dec()
            if call.transport:
                f.child("ai_agent_active_calls_by_transport", call.transport).dec()
            call.started = False
        if call.state is not None:
            f.child("ai_agent_conversation_state", call.state).dec()
            call.state = None
        if call.tts_gating:
            f.child("ai_agent_tts_gating_active").dec()
            call.tts_gating = False
        if call.audio_capture:
            f.child("ai_agent_audio_capture_enabled").dec()
            call.audio_capture = False

    def _turn(self, event, attrs, now):
        call, _, provider, pipeline = self._labels(event, now)
        f = self.fleet
        latency = attrs["latency_seconds"]
        f.child("ai_agent_turn_response_seconds", pipeline, provider).observe(latency)
        f.child("ai_agent_turns_total", pipeline, provider).inc()
        if "stt_to_tts_seconds" in attrs:
            f.child("ai_agent_stt_to_tts_seconds", pipeline, provider).observe(attrs["stt_to_tts_seconds"])
        for key, component, service in TURN_COMPONENTS:
            if key in attrs:
                f.child("ai_agent_component_latency_seconds", component, provider).observe(attrs[key])
                if service:
                    f.child("ai_agent_provider_requests_total", provider, service, "ok").inc()
        interrupted = attrs.get("interrupted", False)
        if interrupted:
            f.child("ai_agent_interrupted_turns_total", pipeline, provider).inc()
        call.add_turn(latency)
        call.agent_speech += attrs.get("agent_speech_seconds", 0.0)

    def _latency(self, event, attrs, now):
        _, _, provider, _ = self._labels(event, now)
        component = attrs["component"]
        self.fleet.child("ai_agent_component_latency_seconds", component, provider).observe(attrs["seconds"])
        service = attrs.get("service") or SERVICE_OF_COMPONENT[component]
        self.fleet.child("ai_agent_provider_requests_total", provider, service, attrs.get("status", "ok")).inc()

    def _usage(self, event, attrs, now):
        call, tenant, provider, _ = self._labels(event, now)
        service, unit, quantity = attrs["service"], attrs["unit"], attrs["quantity"]
        self.fleet.child("ai_agent_usage_total", provider, service, unit).inc(quantity)
        model = event.get("model")
        if call is None:
            usd = self.prices.price(service, provider, model, unit, quantity)
            self.fleet.child("ai_agent_cost_usd_total", tenant, provider, service).inc(usd)
            self.fleet.child("ai_agent_exporter_usage_priced_total", service).inc()
            return
        call.usage.append((service, provider, unit, model, quantity))
        call.estimated_cost[service] = call.estimated_cost.get(service, 0.0) + self.prices.price(
            service, provider, model, unit, quantity
        )

    def _cost(self, event, attrs, now):
        call, tenant, provider, _ = self._labels(event, now)
        service, usd = attrs["service"], attrs["usd"]
        self.fleet.child("ai_agent_cost_usd_total", tenant, provider, service).inc(usd)
        if call is not None:
            call.reported_cost[service] = call.reported_cost.get(service, 0.0) + usd

    def _audio(self, event, attrs, now):
        call, _, provider, _ = self._labels(event, now)
        f = self.fleet
        stage = attrs.get("stage", "agent_out")
        if attrs.get("underflow"):
            f.child("ai_agent_stream_underflow_events_total", provider).inc(attrs["underflow"])
            if call:
                call.underflows += attrs["underflow"]
        if attrs.get("fallback"):
            f.child("ai_agent_streaming_fallbacks_total", provider).inc(attrs["fallback"])
            if call:
                call.fallbacks += attrs["fallback"]
        if "jitter_buffer_depth" in attrs:
            depth = attrs["jitter_buffer_depth"]
            self._report(now, depth, "ai_agent_streaming_jitter_buffer_depth", provider)
            f.child("ai_agent_jitter_buffer_depth_frames", provider).observe(depth)
        if "codec_alignment" in attrs:
            aligned = attrs["codec_alignment"]
            self._report(now, 1 if aligned else 0, "ai_agent_codec_alignment", provider)
            if call:
                call.codec_checks += 1
                call.codec_aligned += 1 if aligned else 0
        if "rms" in attrs:
            self._report(now, attrs["rms"], "ai_agent_audio_rms", stage)
            if call and stage in AGENT_STAGES:
                call.add_rms(attrs["rms"])
        if "dc_offset" in attrs:
            self._report(now, attrs["dc_offset"], "ai_agent_audio_dc_offset", stage)
        if "vad_confidence" in attrs:
            f.child("ai_agent_vad_confidence").observe(attrs["vad_confidence"])

    def _transport(self, event, attrs, now):
        call, _, provider, _ = self._labels(event, now)
        f = self.fleet
        if "rtt_seconds" in attrs:
            f.child("ai_agent_transport_rtt_seconds", provider).observe(attrs["rtt_seconds"])
        if "jitter_seconds" in attrs:
            f.child("ai_agent_transport_jitter_seconds", provider).observe(attrs["jitter_seconds"])
        if "packet_loss_ratio" in attrs:
            f.child("ai_agent_transport_packet_loss_ratio", provider).observe(attrs["packet_loss_ratio"])
        if attrs.get("bytes_rx"):
            f.child("ai_agent_audio_bytes_total", provider, "rx").inc(attrs["bytes_rx"])
        if attrs.get("bytes_tx"):
            f.child("ai_agent_audio_bytes_total", provider, "tx").inc(attrs["bytes_tx"])
        if attrs.get("connection_lost"):
            f.child("ai_agent_transport_connection_losses_total", provider).inc()
        if call is not None:
            call.rtt = attrs.get("rtt_seconds", call.rtt)
            call.jitter = attrs.get("jitter_seconds", call.jitter)
            call.loss = attrs.get("packet_loss_ratio", call.loss)
            call.burst = attrs.get("burst_ratio", call.burst)
            if "codec" in attrs:
                call.codec = self.label("codec", attrs["codec"])

    def _interruption(self, event, attrs, now):
        call, _, provider, _ = self._labels(event, now)
        f = self.fleet
        if attrs["kind"] == "barge_in":
            f.child("ai_agent_barge_in_events_total", provider).inc()
            call.barge_ins += 1
            if "reaction_seconds" in attrs:
                f.child("ai_agent_barge_in_reaction_seconds", provider).observe(attrs["reaction_seconds"])
                call.add_reaction(attrs["reaction_seconds"])
        else:
            f.child("ai_agent_false_interruptions_total", provider).inc()
            call.false_interruptions += 1

    def _state(self, event, attrs, now):
        call, _, _, _ = self._labels(event, now)
        f = self.fleet
        if call.ended:
            return
        state = attrs.get("state")
        if state is not None and state != call.state:
            if call.state is not None:
                f.child("ai_agent_conversation_state", call.state).dec()
            f.child("ai_agent_conversation_state", state).inc()
            call.state = state
        gating = attrs.get("tts_gating")
        if gating is not None and gating != call.tts_gating:
            f.child("ai_agent_tts_gating_active").inc(1 if gating else -1)
            call.tts_gating = gating
        capture = attrs.get("audio_capture")
        if capture is not None and capture != call.audio_capture:
            f.child("ai_agent_audio_capture_enabled").inc(1 if capture else -1)
            call.audio_capture = capture

    def _health(self, event, attrs, now):
        if "worker" in attrs:
            worker = self.label("worker", attrs["worker"])
            for key, name in (
                ("memory_ratio", "ai_agent_worker_memory_ratio"),
                ("cpu_ratio", "ai_agent_worker_cpu_ratio"),
                ("active_calls", "ai_agent_worker_active_calls"),
            ):
                if key in attrs:
                    self._report(now, attrs[key], name, worker)
        if "breaker" in attrs and "breaker_state" in attrs:
            breaker = self.label("breaker", attrs["breaker"])
            self._report(now, BREAKER_STATES[attrs["breaker_state"]], "ai_agent_circuit_breaker_state", breaker)
        if "service" in attrs and "up" in attrs:
            provider = self._lbl(event, "provider", None)
            self._report(now, 1 if attrs["up"] else 0, "ai_agent_provider_up", provider, attrs["service"])

    def _error(self, event, attrs, now):
        _, _, provider, _ = self._labels(event, now)
        f = self.fleet
        f.child(
            "ai_agent_errors_total", self.label("component", attrs["component"]), self.label("kind", attrs["kind"])
        ).inc()
        if "service" in attrs:
            status = "timeout" if "timeout" in attrs["kind"] else "error"
            f.child("ai_agent_provider_requests_total", provider, attrs["service"], status).inc()
