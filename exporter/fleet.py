"""Fleet and self metrics: plain value holders built from the catalogue, rendered by hand.

The exporter's lock guards every update and every render, so the holders need no locks of their
own; that, and skipping prometheus_client's per-update checks, is what keeps ingest fast.
"""

from __future__ import annotations

from bisect import bisect_left

from voice_monitoring.exporter.exposition import header, label_text, sample
from voice_monitoring.shared import catalogue


class CounterValue:
    __slots__ = ("value",)

    def __init__(self):
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount


class GaugeValue(CounterValue):
    __slots__ = ()

    def dec(self, amount: float = 1.0) -> None:
        self.value -= amount

    def set(self, value: float) -> None:
        self.value = value


class HistogramValue:
    __slots__ = ("bounds", "counts", "sum", "count")

    def __init__(self, bounds: tuple[float, ...]):
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # per bucket, not cumulative; the last is +Inf
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value
        self.count += 1


_VALUE_TYPES = {"counter": CounterValue, "gauge": GaugeValue}


class FleetMetrics:
    """Every catalogued exporter metric that is not per-call; ``child(name, *labels)`` is its series."""

    def __init__(self):
        self._metrics = {m.name: m for m in catalogue.published_by(catalogue.EXPORTER) if m.scope != catalogue.PER_CALL}
        self._series: dict[str, dict[tuple[str, ...], object]] = {name: {} for name in self._metrics}
        self._children: dict[tuple, object] = {}
        for m in self._metrics.values():
            if not m.labels:
                self.child(m.name)  # unlabelled metrics are exposed from the start, at zero

    def child(self, name: str, *labels: str):
        key = (name, labels)
        found = self._children.get(key)
        if found is None:
            m = self._metrics[name]
            if len(labels) != len(m.labels):
                raise ValueError(f"{name} takes labels {m.labels}, got {labels}")
            found = HistogramValue(m.buckets) if m.type == "histogram" else _VALUE_TYPES[m.type]()
            self._series[name][labels] = found
            self._children[key] = found
        return found

    def remove(self, name: str, *labels: str) -> None:
        if self._children.pop((name, labels), None) is not None:
            del self._series[name][labels]

    def render(self) -> str:
        out = []
        for name, m in self._metrics.items():
            out.append(header(name, m.help, m.type))
            for labels, value in self._series[name].items():
                text = label_text(m.labels, labels)
                if m.type != "histogram":
                    out.append(sample(name, text, value.value) + "\n")
                    continue
                prefix = text + "," if text else ""
                cumulative = 0
                for bound, count in zip(m.buckets, value.counts, strict=False):
                    cumulative += count
                    out.append(sample(f"{name}_bucket", f'{prefix}le="{float(bound)!r}"', cumulative) + "\n")
                out.append(sample(f"{name}_bucket", f'{prefix}le="+Inf"', value.count) + "\n")
                out.append(sample(f"{name}_sum", text, value.sum) + "\n")
                out.append(sample(f"{name}_count", text, value.count) + "\n")
        return "".join(out)
