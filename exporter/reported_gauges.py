"""Gauges holding the last value somebody reported (a worker's memory, a breaker's state, a provider up or down):
each series lives ``ttl_seconds`` after its last report, so a worker that stops reporting leaves no stale value."""

from __future__ import annotations

from voice_monitoring.exporter.fleet import Family, FleetMetrics, GaugeValue


class ReportedGauges:
    """Gauges holding the last value somebody reported (a worker's memory, a breaker's state, ...): a
    series goes away ``ttl_seconds`` after its last report."""

    def __init__(self, fleet: FleetMetrics, ttl_seconds: float):
        self.fleet = fleet
        self.ttl_seconds = ttl_seconds
        self._reported: dict[tuple[str, tuple[str, ...]], float] = {}  # (metric, labels) -> when last reported
        self._families: dict[str, Family[GaugeValue]] = {}

    def report(self, now: float, value: float, name: str, *labels: str) -> None:
        series = self._families.get(name)
        if series is None:
            series = self._families[name] = self.fleet.gauges(name)
        gauge = series.get(labels)
        if gauge is None:
            labels = self.fleet.labels_for(name, labels)
            gauge = series[labels]
        gauge.set(value)
        self._reported[(name, labels)] = now

    def expire(self, now: float) -> None:
        cutoff = now - self.ttl_seconds
        for key in [k for k, at in self._reported.items() if at < cutoff]:
            del self._reported[key]
            self.fleet.remove(key[0], *key[1])
