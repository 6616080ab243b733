"""Where series expire: a call's series after its grace period or idle timeout, a last-reported gauge
after its report TTL.  Removing a call is removing it from the live-call dict: nothing else holds it."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator

from voice_monitoring.exporter.calls import Call
from voice_monitoring.exporter.dedup import ExpiringIds
from voice_monitoring.exporter.fleet import FleetMetrics


class CallExpiry:
    """Decides when calls leave ``calls``: ``grace_seconds`` after they end, or ``idle_seconds`` after their
    last event.  The ids of calls removed are remembered for ``guard_seconds`` (at most ``remember_removed`` of
    each kind): one removed after its grace period so a late event does not bring it back, one removed while
    idle so a later event of it takes the call up again as the same call, not as a new one."""

    def __init__(
        self,
        grace_seconds: float,
        idle_seconds: float,
        guard_seconds: float,
        remember_removed: int = 100_000,
        on_forget_early: Callable[[], None] = lambda: None,
    ):
        self.grace_seconds = grace_seconds
        self.idle_seconds = idle_seconds
        self.guard_seconds = guard_seconds
        self._ended: deque[tuple[float, str]] = deque()  # (remove at, call_id), in order of ending
        self.removed = ExpiringIds(remember_removed, on_forget_early)
        self.went_idle = ExpiringIds(remember_removed, on_forget_early)

    def recently_removed(self, call_id: str) -> bool:
        return call_id in self.removed

    def removed_while_idle(self, call_id: str) -> bool:
        """Whether the call was removed for going quiet, not for ending: it was counted started already."""
        return call_id in self.went_idle

    def ended(self, call: Call, now: float) -> None:
        self._ended.append((now + self.grace_seconds, call.call_id))

    def expired(self, calls: dict[str, Call], now: float) -> Iterator[tuple[Call, str]]:
        """Remove from ``calls`` and yield (call, reason) for calls past their grace period or idle timeout."""
        self.removed.forget_expired(now)
        self.went_idle.forget_expired(now)
        ended = self._ended
        while ended and ended[0][0] <= now:
            _, call_id = ended.popleft()
            call = calls.get(call_id)
            if call is not None and call.ended:
                del calls[call_id]
                self.removed.remember(call_id, now + self.guard_seconds)
                yield call, "grace"
        cutoff = now - self.idle_seconds
        idle = [c for c in calls.values() if c.last_seen < cutoff and not c.ended]
        for call in idle:
            del calls[call.call_id]
            self.went_idle.remember(call.call_id, now + self.guard_seconds)
            yield call, "idle"

    def restore(self, ended: list[tuple[float, str]]) -> None:
        for entry in sorted(ended):
            self._ended.append(entry)

    def ended_entries(self) -> list[tuple[float, str]]:
        return list(self._ended)


class ReportedGauges:
    """Gauges holding the last value somebody reported (a worker's memory, a breaker's state, ...): a
    series goes away ``ttl_seconds`` after its last report."""

    def __init__(self, fleet: FleetMetrics, ttl_seconds: float):
        self.fleet = fleet
        self.ttl_seconds = ttl_seconds
        self._reported: dict[tuple, float] = {}  # (metric, labels) -> when last reported

    def report(self, now: float, value: float, name: str, *labels: str) -> None:
        labels = self.fleet.labels_for(name, labels)
        self.fleet.child(name, *labels).set(value)
        self._reported[(name, labels)] = now

    def expire(self, now: float) -> None:
        cutoff = now - self.ttl_seconds
        for key in [k for k, at in self._reported.items() if at < cutoff]:
            del self._reported[key]
            self.fleet.remove(key[0], *key[1])
