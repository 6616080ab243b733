"""Where every call is born, lives and dies: the one registry of live calls and their per-call series.

A call is created (``resolve``: on call.started, or adopted on any other event), touched by every event of it,
counted in the live gauges while it is in progress (``start``, ``end``), rendered at each scrape (``render``: the
sampled calls' series), and removed by the one sweep (``expire``): ``grace_seconds`` after it ended, or
``idle_seconds`` after its last event.  Removing a call is removing it from ``calls``: nothing else holds it.

The ids of removed calls are remembered with how they left (``removed``) for the retry window: an event of a call
removed after its grace period is refused, so a late event does not bring the call back; an event of a call removed
while idle takes the call up again as the same call, counted once.

Bounds: ``max_live_calls`` calls (more are refused as ``too_many_calls``), ``remember_removed`` removed ids (beyond
it the oldest is forgotten early and counted), and the feedback ledger's own bound.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import NamedTuple

from voice_monitoring.exporter import call_series
from voice_monitoring.exporter.calls import Call
from voice_monitoring.exporter.events import Attrs, Event, InvalidEvent, normalize_reason
from voice_monitoring.exporter.expiring_ids import COMPACT_ABOVE, ExpiringIds
from voice_monitoring.exporter.feedback import FeedbackLedger
from voice_monitoring.exporter.fleet import FleetMetrics
from voice_monitoring.exporter.labels import UNKNOWN, LabelLimiter
from voice_monitoring.exporter.sampling import PerCallSampling

GRACE = "grace"  # how a call left: its grace period after call.ended passed
IDLE = "idle"  # or no event of it arrived for the idle timeout


class Resolved(NamedTuple):
    """The call an event belongs to (None for an event without a call id) and the event's labels: each one the
    event names, folded, else the call's, else ``unknown``."""

    call: Call | None
    tenant: str
    provider: str
    pipeline: str

    def of_call(self) -> Call:
        """The call, for an event whose type requires a call id (``validate`` has checked it is there)."""
        if self.call is None:
            raise InvalidEvent("missing_field", "call_id is required for this event")
        return self.call


_new_resolved = tuple.__new__  # a NamedTuple built without the Python frame of its __new__: once per event


class CallRegistry:
    def __init__(
        self,
        fleet: FleetMetrics,
        label: LabelLimiter,
        feedback: FeedbackLedger,
        sampling: PerCallSampling,
        *,
        grace_seconds: float,
        idle_seconds: float,
        guard_seconds: float,
        max_live_calls: int,
        remember_removed: int = 100_000,
        on_forget_early: Callable[[], None] | None = None,
    ):
        self.fleet = fleet
        self.label = label
        self.feedback = feedback
        self.sampling = sampling
        self.grace_seconds = grace_seconds
        self.idle_seconds = idle_seconds
        self.guard_seconds = guard_seconds
        self.max_live_calls = max_live_calls
        self.calls: dict[str, Call] = {}
        self.removed: ExpiringIds[str] = ExpiringIds(remember_removed, on_forget_early)  # call id -> GRACE or IDLE
        self._ending: deque[tuple[float, str]] = deque()  # (remove at, call_id), in order of ending
        self._peak = 0  # most calls held since ``calls`` was last compacted

    def __len__(self) -> int:
        return len(self.calls)

    def get(self, call_id: str | None) -> Call | None:
        return self.calls.get(call_id) if call_id is not None else None

    def removed_after_grace(self, call_id: str) -> bool:
        """Whether the call ended and its series were removed: an event of it now comes too late."""
        return self.removed.get(call_id) == GRACE

    # -- born and touched -------------------------------------------------------------------------------------

    def resolve(self, event: Event, now: float) -> Resolved:
        """The event's call (created on first sight) and its labels.

        A call first seen through an event other than call.started (the exporter restarted without its state, or
        events arrived out of order) is adopted with the labels of that event: counted in progress and in
        calls_adopted_total, unless it was counted before it went idle.
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
            left = self.removed.get(call_id)
            if left == GRACE:
                raise InvalidEvent("call_expired", f"call {call_id} has ended and its series were removed")
            if len(self.calls) >= self.max_live_calls:
                raise InvalidEvent("too_many_calls", f"the exporter already tracks {self.max_live_calls} live calls")
            call = self.calls[call_id] = Call(call_id, tenant, provider, pipeline, now)
            self.take_agent(call, event)
            if event["type"] != "call.started":
                call.adopted = True
                if left != IDLE:  # a call taken up again after going quiet was counted started already
                    self.fleet.counter("ai_agent_calls_adopted_total", tenant, provider, pipeline).inc()
                self.enter_live_gauges(call)
        if call is not None:
            call.last_seen = now
        return _new_resolved(Resolved, (call, tenant, provider, pipeline))

    def call_of(self, event: Event, now: float) -> Call:
        """``resolve(event, now).of_call()`` for a handler that uses no label: an event of a call held, carrying no
        label, only touches the call."""
        call_id = event.get("call_id")
        call = self.calls.get(call_id) if call_id is not None else None
        if call is None or "tenant" in event or "provider" in event or "pipeline" in event:
            return self.resolve(event, now).of_call()
        call.last_seen = now
        return call

    def take_agent(self, call: Call, event: Event) -> None:
        """The call's agent and version from the event, folded; kept when the event names neither."""
        agent, version = event.get("agent"), event.get("agent_version")
        if agent is not None:
            call.agent = self.label("agent", agent)
        if version is not None:
            call.agent_version = self.label("agent_version", version)

    def start(self, event: Event, attrs: Attrs, now: float) -> None:
        """call.started; for a call adopted earlier it completes the call, which stays counted as adopted."""
        call = self.calls.get(event["call_id"])
        adopted = call is not None and call.adopted and not call.ended
        if call is not None and not adopted and (call.started or call.ended):
            raise InvalidEvent("call_already_started", f"call {event['call_id']} has already started")
        f = self.fleet
        if call is not None and adopted:  # in progress under its adopted labels: move it to those of call.started
            call.adopted = False  # a second call.started is refused
            f.gauge("ai_agent_active_calls", call.tenant, call.provider).dec()
            f.gauge("ai_agent_agent_active_calls", call.agent).dec()
        resolved = self.resolve(event, now)
        call = resolved.of_call()
        call.tenant, call.provider, call.pipeline = resolved.tenant, resolved.provider, resolved.pipeline
        if adopted:  # a call created now took its agent in resolve
            self.take_agent(call, event)
        call.model = event.get("model")
        call.started = True
        call.started_at = event["ts"]
        if not adopted:
            f.counter("ai_agent_calls_started_total", call.tenant, call.provider, call.pipeline).inc()
            f.counter("ai_agent_agent_calls_started_total", call.agent, call.agent_version).inc()
        f.gauge("ai_agent_active_calls", call.tenant, call.provider).inc()
        f.gauge("ai_agent_agent_active_calls", call.agent).inc()
        call.transport = attrs.get("transport")
        if call.transport:
            f.gauge("ai_agent_active_calls_by_transport", call.transport).inc()
        if "codec" in attrs:
            call.codec = self.label("codec", attrs["codec"])

    def end(self, event: Event, attrs: Attrs, now: float) -> None:
        """call.ended: the call's fleet figures, its cost settled, out of the live gauges; removed after its grace."""
        existing = self.calls.get(event["call_id"])
        if existing is not None and existing.ended:
            raise InvalidEvent("call_already_ended", f"call {event['call_id']} has already ended")
        call = self.resolve(event, now).of_call()
        f = self.fleet
        reason = attrs.get("end_reason") or normalize_reason(attrs["reason"])
        f.counter("ai_agent_calls_ended_total", call.tenant, call.provider, call.pipeline, reason).inc()
        f.histogram("ai_agent_call_duration_seconds", call.pipeline, call.provider).observe(attrs["duration_seconds"])
        self.settle(call)
        cost = call.running_cost()
        f.histogram("ai_agent_call_cost_usd", call.tenant).observe(cost)
        agent, version = call.agent, call.agent_version
        f.counter("ai_agent_agent_calls_ended_total", agent, version, reason).inc()
        f.counter("ai_agent_agent_call_seconds_total", agent, version).inc(attrs["duration_seconds"])
        f.counter("ai_agent_agent_cost_usd_total", agent, version).inc(cost)
        self.leave_live_gauges(call)
        call.ended = True
        call.end_reason_raw = attrs["reason"]
        call.reported_turn_response_p95 = attrs.get("turn_p95_seconds")
        self._ending.append((now + self.grace_seconds, call.call_id))
        self.feedback.ended(call, now)

    # -- cost ---------------------------------------------------------------------------------------------------

    def settle(self, call: Call) -> None:
        """Book the priced cost, and the unpriced usage, of services that reported no cost of their own."""
        f = self.fleet
        for (service, provider), (usd, events) in call.usage.items():
            if service in call.reported_cost:
                continue
            f.counter("ai_agent_cost_usd_total", call.tenant, provider, service).inc(usd)
            f.counter("ai_agent_exporter_usage_priced_total", service).inc(events)
        for service, provider, unit, quantity in call.unpriced:
            if service not in call.reported_cost:
                f.counter("ai_agent_usage_unpriced_total", provider, service, unit).inc(quantity)
        call.usage = {}
        call.unpriced = []

    def book_usage(
        self, tenant: str, provider: str, service: str, unit: str, quantity: float, usd: float | None
    ) -> None:
        """Book usage at once: its priced cost, or its quantity as unpriced when the price table has no row."""
        if usd is None:
            self.fleet.counter("ai_agent_usage_unpriced_total", provider, service, unit).inc(quantity)
            return
        self.fleet.counter("ai_agent_cost_usd_total", tenant, provider, service).inc(usd)
        self.fleet.counter("ai_agent_exporter_usage_priced_total", service).inc()

    # -- the live gauges ----------------------------------------------------------------------------------------

    def enter_live_gauges(self, call: Call) -> None:
        """Count a call in progress, and in its conversation state, from what the call holds."""
        f = self.fleet
        call.started = True
        f.gauge("ai_agent_active_calls", call.tenant, call.provider).inc()
        f.gauge("ai_agent_agent_active_calls", call.agent).inc()
        if call.transport:
            f.gauge("ai_agent_active_calls_by_transport", call.transport).inc()
        if call.state is not None:
            f.gauge("ai_agent_conversation_state", call.state).inc()
        if call.tts_gating:
            f.gauge("ai_agent_tts_gating_active").inc()
        if call.audio_capture:
            f.gauge("ai_agent_audio_capture_enabled").inc()

    def leave_live_gauges(self, call: Call) -> None:
        f = self.fleet
        if call.started:
            f.gauge("ai_agent_active_calls", call.tenant, call.provider).dec()
            f.gauge("ai_agent_agent_active_calls", call.agent).dec()
            if call.transport:
                f.gauge("ai_agent_active_calls_by_transport", call.transport).dec()
            call.started = False
        if call.state is not None:
            f.gauge("ai_agent_conversation_state", call.state).dec()
            call.state = None
        if call.tts_gating:
            f.gauge("ai_agent_tts_gating_active").dec()
            call.tts_gating = False
        if call.audio_capture:
            f.gauge("ai_agent_audio_capture_enabled").dec()
            call.audio_capture = False

    # -- rendered -----------------------------------------------------------------------------------------------

    def render(self) -> tuple[str, int]:
        """The per-call series of the sampled (and promoted) calls and the published ratings, and how many series."""
        return call_series.render(self.sampling.exposed(self.calls.values()), self.feedback.series())

    # -- expired ------------------------------------------------------------------------------------------------

    def expire(self, now: float) -> int:
        """Remove calls past their grace period or idle timeout, and forget removed ids past the retry window;
        returns how many calls were removed."""
        self.removed.forget_expired(now)
        self._peak = max(self._peak, len(self.calls))
        calls, removed = self.calls, 0
        ending = self._ending
        while ending and ending[0][0] <= now:
            _, call_id = ending.popleft()
            call = calls.get(call_id)
            if call is not None and call.ended:
                self._remove(call, GRACE, now)
                removed += 1
        cutoff = now - self.idle_seconds
        for call in [c for c in calls.values() if c.last_seen < cutoff and not c.ended]:
            self.settle(call)
            self.leave_live_gauges(call)
            self._remove(call, IDLE, now)
            removed += 1
        if len(calls) * 4 < self._peak and self._peak > COMPACT_ABOVE:
            self.calls = dict(calls)
            self._peak = len(self.calls)
        self.feedback.expire(now)
        return removed

    def _remove(self, call: Call, reason: str, now: float) -> None:
        del self.calls[call.call_id]
        self.removed.remember(call.call_id, now + self.guard_seconds, reason)
        self.fleet.counter("ai_agent_exporter_calls_expired_total", reason).inc()

    # -- saved and restored (``state_file``) --------------------------------------------------------------------

    def ending(self) -> list[tuple[float, str]]:
        """(remove at, call_id) of the ended calls in their grace period, in order of ending."""
        return list(self._ending)

    def restore(
        self,
        calls: list[Call],
        ending: list[tuple[float, str]],
        removed: Sequence[tuple[float, str, str | None]],
        now: float,
    ) -> None:
        """Take back saved calls (those in progress counted in the live gauges again), the grace periods running
        and the removed ids; into an empty registry only."""
        if self.calls:
            raise ValueError("state is restored into a fresh exporter only")
        for call in calls:
            self.calls[call.call_id] = call
            if call.started:
                call.started = False
                self.enter_live_gauges(call)
        self._ending.extend(sorted(ending))
        self.removed.restore(removed, now)
