"""A call's life: the call an event belongs to (created on first sight), call.started, call.ended,
the cost settled at the end, and the live gauges a call holds while it is in progress."""

from __future__ import annotations

from voice_monitoring.exporter.calls import Call
from voice_monitoring.exporter.dedup import COMPACT_ABOVE
from voice_monitoring.exporter.events import InvalidEvent, normalize_reason
from voice_monitoring.exporter.expiry import CallExpiry
from voice_monitoring.exporter.feedback import FeedbackLedger
from voice_monitoring.exporter.fleet import FleetMetrics
from voice_monitoring.exporter.labels import UNKNOWN, LabelLimiter


class CallLifecycle:
    def __init__(
        self,
        fleet: FleetMetrics,
        label: LabelLimiter,
        expiry: CallExpiry,
        max_live_calls: int,
        feedback: FeedbackLedger,
    ):
        self.fleet = fleet
        self.feedback = feedback
        self.label = label
        self.expiry = expiry
        self.max_live_calls = max_live_calls
        self.calls: dict[str, Call] = {}
        self._peak = 0  # most calls held since ``calls`` was last compacted

    def resolve(self, event: dict, now: float) -> tuple[Call | None, str, str, str]:
        """The event's call (created on first sight) and its tenant, provider and pipeline labels.

        A label the event omits is inherited from its call, else ``unknown``.  A call first seen through an
        event other than call.started (the exporter restarted without its state, or events arrived out of
        order) is adopted with the labels of that event: counted in progress and in calls_adopted_total.
        """
        call_id = event.get("call_id")
        call = self.calls.get(call_id) if call_id is not None else None
        label = self.label  # LabelLimiter.of_event, inline: this runs for nearly every event
        tenant, provider, pipeline = event.get("tenant"), event.get("provider"), event.get("pipeline")
        if call is None:
            tenant = UNKNOWN if tenant is None else label("tenant", tenant)
            provider = UNKNOWN if provider is None else label("provider", provider)
            pipeline = UNKNOWN if pipeline is None else label("pipeline", pipeline)
        else:
            tenant = call.tenant if tenant is None else label("tenant", tenant)
            provider = call.provider if provider is None else label("provider", provider)
            pipeline = call.pipeline if pipeline is None else label("pipeline", pipeline)
        if call_id is not None and call is None:
            if self.expiry.recently_removed(call_id):
                raise InvalidEvent("call_expired", f"call {call_id} has ended and its series were removed")
            if len(self.calls) >= self.max_live_calls:
                raise InvalidEvent("too_many_calls", f"the exporter already tracks {self.max_live_calls} live calls")
            call = self.calls[call_id] = Call(call_id, tenant, provider, pipeline, now)
            self.take_agent(call, event)
            if event["type"] != "call.started":
                call.adopted = True
                if not self.expiry.removed_while_idle(call_id):  # counted started already: taken up again
                    self.fleet.child("ai_agent_calls_adopted_total", tenant, provider, pipeline).inc()
                self.enter_live_gauges(call)
        if call is not None:
            call.last_seen = now
        return call, tenant, provider, pipeline

    def take_agent(self, call: Call, event: dict) -> None:
        """The call's agent and version from the event, folded; kept when the event names neither."""
        agent, version = event.get("agent"), event.get("agent_version")
        if agent is not None:
            call.agent = self.label("agent", agent)
        if version is not None:
            call.agent_version = self.label("agent_version", version)

    def start(self, event: dict, attrs: dict, now: float) -> None:
        """call.started; for a call adopted earlier it completes the call, which stays counted as adopted."""
        call = self.calls.get(event["call_id"])
        adopted = call is not None and call.adopted and not call.ended
        if call is not None and not adopted and (call.started or call.ended):
            raise InvalidEvent("call_already_started", f"call {event['call_id']} has already started")
        f = self.fleet
        if adopted:  # in progress under the labels it was adopted with: move it to those of call.started
            call.adopted = False  # a second call.started is refused
            f.child("ai_agent_active_calls", call.tenant, call.provider).dec()
            f.child("ai_agent_agent_active_calls", call.agent).dec()
        call, tenant, provider, pipeline = self.resolve(event, now)
        call.tenant, call.provider, call.pipeline = tenant, provider, pipeline
        if adopted:  # a call created now took its agent in resolve
            self.take_agent(call, event)
        call.model = event.get("model")
        call.started = True
        call.started_at = event["ts"]
        if not adopted:
            f.child("ai_agent_calls_started_total", tenant, provider, pipeline).inc()
            f.child("ai_agent_agent_calls_started_total", call.agent, call.agent_version).inc()
        f.child("ai_agent_active_calls", tenant, provider).inc()
        f.child("ai_agent_agent_active_calls", call.agent).inc()
        call.transport = attrs.get("transport")
        if call.transport:
            f.child("ai_agent_active_calls_by_transport", call.transport).inc()
        if "codec" in attrs:
            call.codec = self.label("codec", attrs["codec"])

    def end(self, event: dict, attrs: dict, now: float) -> None:
        existing = self.calls.get(event["call_id"])
        if existing is not None and existing.ended:
            raise InvalidEvent("call_already_ended", f"call {event['call_id']} has already ended")
        call, _, _, _ = self.resolve(event, now)
        f = self.fleet
        reason = attrs.get("end_reason") or normalize_reason(attrs["reason"])
        f.child("ai_agent_calls_ended_total", call.tenant, call.provider, call.pipeline, reason).inc()
        f.child("ai_agent_call_duration_seconds", call.pipeline, call.provider).observe(attrs["duration_seconds"])
        self.settle(call)
        cost = call.running_cost()
        f.child("ai_agent_call_cost_usd", call.tenant).observe(cost)
        agent, version = call.agent, call.agent_version
        f.child("ai_agent_agent_calls_ended_total", agent, version, reason).inc()
        f.child("ai_agent_agent_call_seconds_total", agent, version).inc(attrs["duration_seconds"])
        f.child("ai_agent_agent_cost_usd_total", agent, version).inc(cost)
        self.leave_live_gauges(call)
        call.ended = True
        call.end_reason_raw = attrs["reason"]
        call.reported_turn_p95 = attrs.get("turn_p95_seconds")
        self.expiry.ended(call, now)
        self.feedback.ended(call, now)

    def settle(self, call: Call) -> None:
        """Book the priced cost, and the unpriced usage, of services that reported no cost of their own."""
        f = self.fleet
        for (service, provider), (usd, events) in call.usage.items():
            if service in call.reported_cost:
                continue
            f.child("ai_agent_cost_usd_total", call.tenant, provider, service).inc(usd)
            f.child("ai_agent_exporter_usage_priced_total", service).inc(events)
        for service, provider, unit, quantity in call.unpriced:
            if service not in call.reported_cost:
                f.child("ai_agent_usage_unpriced_total", provider, service, unit).inc(quantity)
        call.usage = {}
        call.unpriced = []

    def book_usage(
        self, tenant: str, provider: str, service: str, unit: str, quantity: float, usd: float | None
    ) -> None:
        """Book usage at once: its priced cost, or its quantity as unpriced when the price table has no row."""
        if usd is None:
            self.fleet.child("ai_agent_usage_unpriced_total", provider, service, unit).inc(quantity)
            return
        self.fleet.child("ai_agent_cost_usd_total", tenant, provider, service).inc(usd)
        self.fleet.child("ai_agent_exporter_usage_priced_total", service).inc()

    def enter_live_gauges(self, call: Call) -> None:
        """Count a call in progress, and in its conversation state, from what the call holds."""
        f = self.fleet
        call.started = True
        f.child("ai_agent_active_calls", call.tenant, call.provider).inc()
        f.child("ai_agent_agent_active_calls", call.agent).inc()
        if call.transport:
            f.child("ai_agent_active_calls_by_transport", call.transport).inc()
        if call.state is not None:
            f.child("ai_agent_conversation_state", call.state).inc()
        if call.tts_gating:
            f.child("ai_agent_tts_gating_active").inc()
        if call.audio_capture:
            f.child("ai_agent_audio_capture_enabled").inc()

    def leave_live_gauges(self, call: Call) -> None:
        f = self.fleet
        if call.started:
            f.child("ai_agent_active_calls", call.tenant, call.provider).dec()
            f.child("ai_agent_agent_active_calls", call.agent).dec()
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

    def expire(self, now: float) -> int:
        """Remove calls past their grace period or idle timeout; returns how many were removed."""
        removed = 0
        self._peak = max(self._peak, len(self.calls))
        for call, reason in list(self.expiry.expired(self.calls, now)):
            if reason == "idle":
                self.settle(call)
                self.leave_live_gauges(call)
            self.fleet.child("ai_agent_exporter_calls_expired_total", reason).inc()
            removed += 1
        if len(self.calls) * 4 < self._peak and self._peak > COMPACT_ABOVE:
            self.calls = dict(self.calls)
            self._peak = len(self.calls)
        return removed
