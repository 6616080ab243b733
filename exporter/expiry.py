"""Where series expire: a call's series after its grace period or idle timeout, a last-reported gauge
after its report TTL.  Removing a call is removing it from the live-call dict: nothing else holds it."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from voice_monitoring.exporter.calls import Call
from voice_monitoring.exporter.fleet import FleetMetrics


class CallExpiry:
    """Decides when calls leave ``calls``: ``grace_seconds`` after they end, or ``idle_seconds`` after their
    last event.  Ids of calls removed after their grace period are remembered (``remember_removed`` at most),
    so a late event does not bring one back."""

    def __init__(self, grace_seconds: float, idle_seconds: float, remember_removed: int = 100_000):
        self.grace_seconds = grace_seconds
        self.idle_seconds = idle_seconds
        self._ended: deque[tuple[float, str]] = deque()  # (remove at, call_id), in order of ending
        self._removed: set[str] = set()
        self._removed_order: deque[str] = deque(maxlen=remember_removed)

    def recently_removed(self, call_id: str) -> bool:
        return call_id in self._removed

    def _remember_removed(self, call_id: str) -> None:
        if len(self._removed_order) == self._removed_order.maxlen:
            self._removed.discard(self._removed_order[0])
        self._removed_order.append(call_id)
        self._removed.add(call_id)

    def ended(self, call: Call, now: float) -> None:
        self._ended.append((now + self.grace_seconds, call.call_id))

    def expired(self, calls: dict[str, Call], now: float) -> Iterator[tuple[Call, str]]:
        """Remove from ``calls`` and yield (call, reason) for calls past their grace period or idle timeout."""
        ended = self._ended
        while ended and ended[0][0] <= now:
            _, call_id = ended.popleft()
            call = calls.get(call_id)
            if call is not None and call.ended:
                del calls[call_id]
                self._remember_removed(call_id)
                yield call, "grace"
        cutoff = now - self.idle_seconds
        idle = [c for c in calls.values() if c.last_seen < cutoff and not c.ended]
        for call in idle:
            del calls[call.call_id]
            yield call, "idle"

    def removed_ids(self) -> list[str]:
        return list(self._removed_order)

    def restore(self, ended: list[tuple[float, str]], removed: list[str]) -> None:
        for entry in sorted(ended):
            self._ended.append(entry)
        for call_id in removed:
            self._remember_removed(call_id)

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
