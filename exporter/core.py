"""The exporter's core: a batch of events in, metrics out, under one lock.

Where things happen (docs/architecture.md has the whole map):
  ``handlers``         where an event becomes a metric (one handler per event type)
  ``registry``         where a call is born, touched, rendered and expired; its ``calls`` are the per-call series
  ``fleet``            the fleet and self metrics; ``reported_gauges`` the last-reported ones and their TTL
  ``expiring_ids``     ids remembered for a while: event ids here, so a retry counts once
  ``labels``           label folding
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from voice_monitoring.exporter.events import ACROSS_FIELDS, InvalidEvent, validate
from voice_monitoring.exporter.expiring_ids import COMPACT_ABOVE, ExpiringIds
from voice_monitoring.exporter.feedback import FeedbackLedger
from voice_monitoring.exporter.fleet import DEFAULT_SERIES_BUDGET, FleetMetrics
from voice_monitoring.exporter.handlers import EventHandlers
from voice_monitoring.exporter.heap import release_freed_memory
from voice_monitoring.exporter.labels import LabelLimiter
from voice_monitoring.exporter.pricing import PriceTable
from voice_monitoring.exporter.registry import CallRegistry
from voice_monitoring.exporter.reported_gauges import ReportedGauges
from voice_monitoring.exporter.sampling import PerCallSampling
from voice_monitoring.shared import catalogue
from voice_monitoring.shared.feedback import FEEDBACK_WINDOW_SECONDS

log = logging.getLogger("voice-exporter")


@dataclass
class Limits:
    label_values: int = 100
    series_budget: int = DEFAULT_SERIES_BUDGET  # series per fleet metric before new ones fold into ``other``
    grace_seconds: float = 120.0
    idle_seconds: float = 600.0
    dedup_max_ids: int = 1_000_000
    max_live_calls: int = 50_000
    max_age_seconds: float = 3600.0
    max_future_seconds: float = 300.0
    report_ttl_seconds: float = 300.0  # a last-reported value (worker, breaker, provider up, ...) lasts this long
    per_call_sample_ratio: float = 1.0  # fraction of calls with per-call series from their start (``sampling``)
    feedback_window_seconds: float = FEEDBACK_WINDOW_SECONDS  # feedback accepted this long after call.ended
    feedback_series_seconds: float = 300.0  # a rating's per-call series is published this long
    feedback_max_calls: int = 100_000  # ended calls whose feedback window the exporter remembers at once

    @property
    def retry_window_seconds(self) -> float:
        """How long an event stays acceptable from the time it arrives: an event id, and the id of a removed
        call, are remembered this long, after which a retry or late event is refused as too old."""
        return self.max_age_seconds + self.max_future_seconds


class Exporter:
    """Applies events to the metrics.  Thread-safe: every mutation holds ``lock``."""

    def __init__(
        self, limits: Limits | None = None, prices: PriceTable | None = None, clock: Callable[[], float] = time.time
    ):
        self.limits = limits = limits or Limits()
        self.prices = prices or PriceTable.default()
        self.clock = clock
        self.lock = threading.Lock()
        self.fleet = FleetMetrics(limits.series_budget)
        self.fleet.gauge(catalogue.STANDARD_PROCESS_START).set(clock())
        self.label = LabelLimiter(limits.label_values, self._on_fold)
        self.prices.on_uncached = self._counter("ai_agent_exporter_price_cache_overflow_total")
        self.ids: ExpiringIds[None] = ExpiringIds(
            limits.dedup_max_ids, self._counter("ai_agent_exporter_dedup_ids_evicted_total")
        )
        self.reported = ReportedGauges(self.fleet, limits.report_ttl_seconds)
        self.sampling = PerCallSampling(limits.per_call_sample_ratio)
        self.registry = CallRegistry(
            self.fleet,
            self.label,
            FeedbackLedger(
                limits.feedback_window_seconds,
                limits.feedback_series_seconds,
                limits.feedback_max_calls,
                on_forget_early=self._counter("ai_agent_exporter_feedback_calls_forgotten_total"),
            ),
            self.sampling,
            grace_seconds=limits.grace_seconds,
            idle_seconds=limits.idle_seconds,
            guard_seconds=limits.retry_window_seconds,
            max_live_calls=limits.max_live_calls,
            on_forget_early=self._counter("ai_agent_exporter_removed_calls_forgotten_total"),
        )
        self._held_peak = 0  # most calls and ids held since freed memory was last handed back
        self._held_last = 0  # calls and ids held at the last sweep
        self.handlers = EventHandlers(self.fleet, self.registry, self.label, self.prices, self.reported).by_type

    @property
    def held(self) -> int:
        """Calls, event ids, removed-call ids and feedback windows the exporter holds: what a burst of calls leaves
        behind."""
        registry = self.registry
        return len(registry.calls) + len(self.ids) + len(registry.removed) + len(registry.feedback)

    @property
    def live_calls(self) -> int:
        """Calls with per-call series (live or in their grace period)."""
        return len(self.registry.calls)

    def ingest(
        self, events: Sequence[Any], max_age_seconds: float | None = None, fields_checked: bool = False
    ) -> tuple[int, int, list[dict[str, Any]]]:
        """Apply a batch. Returns (accepted, duplicates, [{index, error}] of rejected events).

        ``max_age_seconds`` replaces the age limit for a batch that is one post-call report, whose events
        carry the call's own timestamps (see exporter/webhooks).  ``fields_checked``: the batch is a JSON body
        that passed ``events.decode_checked``.
        """
        accepted = duplicates = 0
        rejected: list[dict[str, Any]] = []
        accepted_by_type: dict[str, int] = {}
        limits = self.limits
        max_age = limits.max_age_seconds if max_age_seconds is None else max_age_seconds
        applied_ids: dict[str, None] = {}  # ids of the events applied from this batch, remembered at its end
        with self.lock:
            now = self.clock()
            handlers, fleet = self.handlers, self.fleet
            self.ids.forget_expired(now)
            remembered = self.ids.contains
            max_future = limits.max_future_seconds
            oldest, newest = now - max_age, now + max_future
            try:
                for index, posted in enumerate(events):
                    try:
                        # an event the compiled check passed needs only validate's time window: checked here,
                        # without the calls; anything else (or out of the window) takes validate, for its reason
                        if (
                            fields_checked
                            and (kind := posted["type"]) not in ACROSS_FIELDS
                            and oldest <= posted["ts"] <= newest
                        ):
                            event = posted
                        else:
                            event = validate(posted, now, max_age, max_future, fields_checked)
                            kind = event["type"]
                        event_id = event.get("id")
                        if event_id is not None and (event_id in applied_ids or remembered(event_id)):
                            duplicates += 1
                            fleet.counter("ai_agent_exporter_events_duplicate_total", kind).inc()
                            continue
                        try:
                            handlers[kind](event, event.get("attrs") or {}, now)
                        except InvalidEvent:
                            raise
                        except Exception as exc:  # a bug of ours must not take the batch or the service down
                            log.exception("applying a %s event failed", kind)
                            raise InvalidEvent(
                                "internal_error", f"the exporter could not apply this event: {exc}"
                            ) from exc
                    except InvalidEvent as exc:
                        rejected.append({"index": index, "error": str(exc)})
                        etype = posted.get("type") if isinstance(posted, dict) else None
                        label = etype if isinstance(etype, str) and etype in handlers else "unknown"
                        fleet.counter("ai_agent_exporter_events_rejected_total", label, exc.reason).inc()
                        continue
                    if event_id is not None:
                        applied_ids[event_id] = None
                    accepted += 1
                    accepted_by_type[kind] = accepted_by_type.get(kind, 0) + 1
            finally:  # what was applied stays applied, and counted once, whatever ends the loop
                self.ids.remember_all(list(applied_ids), now + limits.retry_window_seconds)
                for etype, count in accepted_by_type.items():
                    fleet.counter("ai_agent_exporter_events_accepted_total", etype).inc(count)
        return accepted, duplicates, rejected

    def count_webhook(self, platform: str, outcome: str, count: int = 1) -> None:
        """Count a platform webhook request by outcome (applied, duplicate, ignored, invalid, unauthorized, ...)."""
        with self.lock:
            self.fleet.counter("ai_agent_exporter_webhooks_total", platform, outcome).inc(count)

    def count_auth_failure(self, endpoint: str, reason: str, count: int = 1) -> None:
        """Count a request refused for its credentials (labels from ``exporter.credentials``); a count of 0
        exposes the series at zero."""
        with self.lock:
            self.fleet.counter("ai_agent_exporter_auth_failures_total", endpoint, reason).inc(count)

    def render(self) -> bytes:
        """The whole exposition: fleet and self metrics, then the per-call series."""
        with self.lock:
            sampling = self.sampling
            promoted_before = sampling.promoted
            per_call, count = self.registry.render()
            f = self.fleet
            f.gauge("ai_agent_exporter_live_calls").set(len(self.registry))
            f.gauge("ai_agent_exporter_per_call_series").set(count)
            f.gauge("ai_agent_exporter_per_call_sample_ratio").set(sampling.ratio)
            f.gauge("ai_agent_exporter_per_call_withheld_calls").set(sampling.withheld)
            f.counter("ai_agent_exporter_calls_promoted_total").inc(sampling.promoted - promoted_before)
            fleet = f.render()
        return (fleet + per_call).encode()

    def sweep(self) -> int:
        """Expire calls past their grace period or idle timeout, old event ids and stale reported gauges;
        returns how many calls were removed."""
        with self.lock:
            now = self.clock()
            removed = self.registry.expire(now)
            self.ids.forget_expired(now)
            self.reported.expire(now)
            held = self.held
            self._held_peak = max(self._held_peak, held)
            # Once what is held has fallen a long way from its peak and stopped falling: then the memory of the
            # whole drop is free, not just of its first part.
            release = self._held_peak - held > COMPACT_ABOVE and held >= self._held_last
            self._held_last = held
            if release:
                self._held_peak = held
        if release:
            release_freed_memory()
        return removed

    def _counter(self, name: str) -> Callable[[], None]:
        """A function that counts one more of the unlabelled counter ``name``."""
        count_one: Callable[[], None] = self.fleet.counter(name).inc
        return count_one

    def _on_fold(self, label: str) -> None:
        self.fleet.counter("ai_agent_exporter_label_values_folded_total", label).inc()
