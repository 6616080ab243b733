"""Where an event becomes a metric: one handler per event type.

A handler gets a validated event, its ``attrs`` and the time of ingest, and updates the fleet metrics
and the state of the event's call.  call.started and call.ended belong to the call registry.
"""

from __future__ import annotations

from collections.abc import Callable

from voice_monitoring.exporter.events import BREAKER_STATES, DIRECTIONS, Attrs, Event
from voice_monitoring.exporter.fleet import FleetMetrics
from voice_monitoring.exporter.labels import LabelLimiter
from voice_monitoring.exporter.pricing import PriceTable
from voice_monitoring.exporter.registry import CallRegistry
from voice_monitoring.exporter.reported_gauges import ReportedGauges
from voice_monitoring.shared.feedback import SCALES

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
    "knowledge_base": "llm",
    "s2s": "llm",
}
AGENT_STAGES = ("tts_out", "agent_out")
_BYTES_KEYS = tuple((f"bytes_{direction}", direction) for direction in DIRECTIONS)

Handler = Callable[[Event, Attrs, float], None]


class EventHandlers:
    def __init__(
        self,
        fleet: FleetMetrics,
        registry: CallRegistry,
        label: LabelLimiter,
        prices: PriceTable,
        reported: ReportedGauges,
    ):
        self.fleet = fleet
        self.registry = registry
        self.label = label
        self.prices = prices
        self.reported = reported
        # the series the frequent events update, by metric: indexed with their labels, one lookup each
        self._turn_response = fleet.histograms("ai_agent_turn_response_seconds")
        self._agent_turn_response = fleet.histograms("ai_agent_agent_turn_response_seconds")
        self._turns = fleet.counters("ai_agent_turns_total")
        self._stt_to_tts = fleet.histograms("ai_agent_stt_to_tts_seconds")
        self._interrupted_turns = fleet.counters("ai_agent_interrupted_turns_total")
        self._component_latency = fleet.histograms("ai_agent_component_latency_seconds")
        self._provider_requests = fleet.counters("ai_agent_provider_requests_total")
        self._usage = fleet.counters("ai_agent_usage_total")
        self._underflows = fleet.counters("ai_agent_stream_underflow_events_total")
        self._fallbacks = fleet.counters("ai_agent_streaming_fallbacks_total")
        self._jitter_buffer_depth = fleet.histograms("ai_agent_jitter_buffer_depth_frames")
        self._codec_checks = fleet.counters("ai_agent_codec_checks_total")
        self._vad_confidence = fleet.histograms("ai_agent_vad_confidence")
        self._rtt = fleet.histograms("ai_agent_transport_rtt_seconds")
        self._jitter = fleet.histograms("ai_agent_transport_jitter_seconds")
        self._packet_loss = fleet.histograms("ai_agent_transport_packet_loss_ratio")
        self._concealment = fleet.histograms("ai_agent_transport_concealment_ratio")
        self._audio_bytes = fleet.counters("ai_agent_audio_bytes_total")
        self._conversation_state = fleet.gauges("ai_agent_conversation_state")
        self._tts_gating_active = fleet.gauge("ai_agent_tts_gating_active")  # unlabelled: one series, never removed
        self._audio_capture_enabled = fleet.gauge("ai_agent_audio_capture_enabled")
        self.by_type: dict[str, Handler] = {
            "call.started": registry.start,
            "call.ended": registry.end,
            "turn": self.turn,
            "latency": self.latency,
            "usage": self.usage,
            "cost": self.cost,
            "audio": self.audio,
            "transport": self.transport,
            "interruption": self.interruption,
            "state": self.state,
            "analysis": self.analysis,
            "feedback": self.feedback,
            "health": self.health,
            "error": self.error,
        }

    def turn(self, event: Event, attrs: Attrs, now: float) -> None:
        resolved = self.registry.resolve(event, now)
        call, provider, pipeline = resolved.of_call(), resolved.provider, resolved.pipeline
        latency = attrs["latency_seconds"]
        by_pipeline = (pipeline, provider)
        self._turn_response[by_pipeline].observe(latency)
        self._agent_turn_response[(call.agent,)].observe(latency)
        self._turns[by_pipeline].inc()
        if "stt_to_tts_seconds" in attrs:
            self._stt_to_tts[by_pipeline].observe(attrs["stt_to_tts_seconds"])
        for key, component, service in TURN_COMPONENTS:
            if key in attrs:
                self._component_latency[component, provider].observe(attrs[key])
                if service:
                    self._provider_requests[provider, service, "ok"].inc()
        if attrs.get("interrupted", False):
            self._interrupted_turns[by_pipeline].inc()
        call.add_turn(latency)
        call.agent_speech += attrs.get("agent_speech_seconds", 0.0)

    def latency(self, event: Event, attrs: Attrs, now: float) -> None:
        provider = self.registry.resolve(event, now).provider
        component = attrs["component"]
        self._component_latency[component, provider].observe(attrs["seconds"])
        service = attrs.get("service") or SERVICE_OF_COMPONENT[component]
        self._provider_requests[provider, service, attrs.get("status", "ok")].inc()

    def usage(self, event: Event, attrs: Attrs, now: float) -> None:
        resolved = self.registry.resolve(event, now)
        call, tenant, provider = resolved.call, resolved.tenant, resolved.provider
        service, unit, quantity = attrs["service"], attrs["unit"], attrs["quantity"]
        self._usage[provider, service, unit].inc(quantity)
        usd = self.prices.price(service, provider, event.get("model"), unit, quantity)
        if call is None:
            self.registry.book_usage(tenant, provider, service, unit, quantity, usd)
        elif call.ended:  # late usage (a final flush after call.ended) is booked at once, as the call was settled
            if service not in call.reported_cost:
                self.registry.book_usage(tenant, provider, service, unit, quantity, usd)
                call.estimated_cost[service] = call.estimated_cost.get(service, 0.0) + (usd or 0.0)
        else:
            call.add_usage(service, provider, unit, quantity, usd)

    def cost(self, event: Event, attrs: Attrs, now: float) -> None:
        resolved = self.registry.resolve(event, now)
        call, tenant, provider = resolved.call, resolved.tenant, resolved.provider
        service, usd = attrs["service"], attrs["usd"]
        self.fleet.counter("ai_agent_cost_usd_total", tenant, provider, service).inc(usd)
        if call is not None:
            call.reported_cost[service] = call.reported_cost.get(service, 0.0) + usd

    def audio(self, event: Event, attrs: Attrs, now: float) -> None:
        resolved = self.registry.resolve(event, now)
        call, provider = resolved.call, resolved.provider
        by_provider = (provider,)
        report = self.reported.report
        stage = attrs.get("stage", "agent_out")
        if attrs.get("underflow"):
            self._underflows[by_provider].inc(attrs["underflow"])
            if call:
                call.underflows += attrs["underflow"]
        if attrs.get("fallback"):
            self._fallbacks[by_provider].inc(attrs["fallback"])
            if call:
                call.fallbacks += attrs["fallback"]
        if "jitter_buffer_depth" in attrs:
            depth = attrs["jitter_buffer_depth"]
            report(now, depth, "ai_agent_streaming_jitter_buffer_depth", provider)
            self._jitter_buffer_depth[by_provider].observe(depth)
        if "codec_alignment" in attrs:
            aligned = attrs["codec_alignment"]
            report(now, 1 if aligned else 0, "ai_agent_codec_alignment", provider)
            self._codec_checks[provider, "aligned" if aligned else "misaligned"].inc()
            if call:
                call.codec_checks += 1
                call.codec_aligned += 1 if aligned else 0
        if "rms" in attrs:
            report(now, attrs["rms"], "ai_agent_audio_rms", stage)
            if call and stage in AGENT_STAGES:
                call.add_rms(attrs["rms"])
        if "dc_offset" in attrs:
            report(now, attrs["dc_offset"], "ai_agent_audio_dc_offset", stage)
        if "clipping_ratio" in attrs:
            clipping = attrs["clipping_ratio"]
            report(now, clipping, "ai_agent_audio_clipping_ratio", stage)
            if call and (call.clipping is None or clipping > call.clipping):
                call.clipping = clipping
        if "vad_confidence" in attrs:
            self._vad_confidence[()].observe(attrs["vad_confidence"])

    def transport(self, event: Event, attrs: Attrs, now: float) -> None:
        resolved = self.registry.resolve(event, now)
        call, provider = resolved.call, resolved.provider
        by_provider = (provider,)
        if "rtt_seconds" in attrs:
            self._rtt[by_provider].observe(attrs["rtt_seconds"])
        if "jitter_seconds" in attrs:
            self._jitter[by_provider].observe(attrs["jitter_seconds"])
        if "packet_loss_ratio" in attrs:
            self._packet_loss[by_provider].observe(attrs["packet_loss_ratio"])
        if "concealment_ratio" in attrs:
            self._concealment[by_provider].observe(attrs["concealment_ratio"])
        for key, direction in _BYTES_KEYS:
            count = attrs.get(key)
            if count:
                self._audio_bytes[provider, direction].inc(count)
        if attrs.get("connection_lost"):
            self.fleet.counter("ai_agent_transport_connection_losses_total", provider).inc()
        if call is not None:
            call.rtt = attrs.get("rtt_seconds", call.rtt)
            call.jitter = attrs.get("jitter_seconds", call.jitter)
            call.loss = attrs.get("packet_loss_ratio", call.loss)
            call.burst = attrs.get("burst_ratio", call.burst)
            call.concealment = attrs.get("concealment_ratio", call.concealment)
            if "codec" in attrs:
                call.codec = self.label("codec", attrs["codec"])

    def interruption(self, event: Event, attrs: Attrs, now: float) -> None:
        resolved = self.registry.resolve(event, now)
        call, provider = resolved.of_call(), resolved.provider
        f = self.fleet
        if attrs["kind"] == "barge_in":
            f.counter("ai_agent_barge_in_events_total", provider).inc()
            call.barge_ins += 1
            if "reaction_seconds" in attrs:
                f.histogram("ai_agent_barge_in_reaction_seconds", provider).observe(attrs["reaction_seconds"])
                call.add_reaction(attrs["reaction_seconds"])
        else:
            f.counter("ai_agent_false_interruptions_total", provider).inc()
            call.false_interruptions += 1

    def state(self, event: Event, attrs: Attrs, now: float) -> None:
        call = self.registry.call_of(event, now)
        if call.ended:
            return
        state = attrs.get("state")
        if state is not None and state != call.state:
            if call.state is not None:
                self._conversation_state[(call.state,)].dec()
            self._conversation_state[(state,)].inc()
            call.state = state
        gating = attrs.get("tts_gating")
        if gating is not None and gating != call.tts_gating:
            self._tts_gating_active.inc(1 if gating else -1)
            call.tts_gating = gating
        capture = attrs.get("audio_capture")
        if capture is not None and capture != call.audio_capture:
            self._audio_capture_enabled.inc(1 if capture else -1)
            call.audio_capture = capture

    def analysis(self, event: Event, attrs: Attrs, now: float) -> None:
        """A platform's verdict on a call, often minutes after it ended: labels from the envelope, or from the
        call while it is still tracked; the call is never created for it."""
        call = self.registry.get(event.get("call_id"))
        of_event = self.label.of_event
        successful = attrs.get("successful")
        self.fleet.counter(
            "ai_agent_call_analyses_total",
            of_event(event, "tenant", call),
            of_event(event, "provider", call),
            "unknown" if successful is None else str(successful).lower(),
            attrs.get("sentiment", "unknown"),
        ).inc()

    def feedback(self, event: Event, attrs: Attrs, now: float) -> None:
        """A rating of an ended (or live) call, under the call's labels: the envelope's are not used, so a rating
        always lands where the call's score does.  The call is never created for it."""
        call_id = event["call_id"]
        registry = self.registry
        ledger = registry.feedback
        source, scale, rating = attrs["source"], attrs["scale"], attrs["rating"]
        call = registry.calls.get(call_id)
        provider, tenant = ledger.accept(call_id, call, registry.removed_after_grace(call_id), source, now)
        negative = "true" if SCALES[scale].negative(rating) else "false"
        self.fleet.counter("ai_agent_feedback_total", tenant, provider, source, negative).inc()
        ledger.publish(call_id, provider, tenant, source, scale, rating, now)

    def health(self, event: Event, attrs: Attrs, now: float) -> None:
        report = self.reported.report
        if "worker" in attrs:
            worker = self.label("worker", attrs["worker"])
            for key, name in (
                ("memory_ratio", "ai_agent_worker_memory_ratio"),
                ("cpu_ratio", "ai_agent_worker_cpu_ratio"),
                ("active_calls", "ai_agent_worker_active_calls"),
            ):
                if key in attrs:
                    report(now, attrs[key], name, worker)
        if "breaker" in attrs and "breaker_state" in attrs:
            breaker = self.label("breaker", attrs["breaker"])
            report(now, BREAKER_STATES[attrs["breaker_state"]], "ai_agent_circuit_breaker_state", breaker)
        if "service" in attrs and "up" in attrs:
            provider = self.label.of_event(event, "provider")
            report(now, 1 if attrs["up"] else 0, "ai_agent_provider_up", provider, attrs["service"])

    def error(self, event: Event, attrs: Attrs, now: float) -> None:
        provider = self.registry.resolve(event, now).provider
        f = self.fleet
        f.counter(
            "ai_agent_errors_total", self.label("component", attrs["component"]), self.label("kind", attrs["kind"])
        ).inc()
        if "service" in attrs:
            status = "timeout" if "timeout" in attrs["kind"] else "error"
            f.counter("ai_agent_provider_requests_total", provider, attrs["service"], status).inc()
