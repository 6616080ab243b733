"""Fleet and self metrics: plain value holders built from the catalogue, rendered by hand.

The exporter's lock guards every update and every render, so the holders need no locks of their
own; that, and skipping prometheus_client's per-update checks, is what keeps ingest fast.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from typing import TYPE_CHECKING, TypeVar

from voice_monitoring.exporter.exposition import header, label_text, sample
from voice_monitoring.exporter.labels import OTHER
from voice_monitoring.shared import catalogue

DEFAULT_SERIES_BUDGET = 2000
_OVERFLOW = "ai_agent_exporter_series_overflow_total"


class CounterValue:
    """One series' value.

    Values live in ``array('d')`` cells rather than float attributes: an update then replaces no object, so the
    holders allocated at start never move into memory a burst of calls is about to free, and a burst's memory
    can be returned once it is over.
    """

    __slots__ = ("_cell",)

    def __init__(self) -> None:
        self._cell = array("d", (0.0,))

    @property
    def value(self) -> float:
        return self._cell[0]

    def inc(self, amount: float = 1.0) -> None:
        self._cell[0] += amount


class GaugeValue(CounterValue):
    __slots__ = ()

    def dec(self, amount: float = 1.0) -> None:
        self._cell[0] -= amount

    def set(self, value: float) -> None:
        self._cell[0] = value


class HistogramValue:
    """Bucket counts (per bucket, not cumulative; the last is +Inf), then the sum and the count, in one array."""

    __slots__ = ("bounds", "_cells")

    def __init__(self, bounds: tuple[float, ...]):
        self.bounds = bounds
        self._cells = array("d", bytes(8 * (len(bounds) + 3)))

    @property
    def counts(self) -> array[float]:
        return self._cells[:-2]

    @property
    def sum(self) -> float:
        return self._cells[-2]

    @property
    def count(self) -> float:
        return self._cells[-1]

    def observe(self, value: float) -> None:
        cells = self._cells
        cells[bisect_left(self.bounds, value)] += 1.0
        cells[-2] += value
        cells[-1] += 1.0


SeriesValue = CounterValue | GaugeValue | HistogramValue
S = TypeVar("S", bound=CounterValue | HistogramValue)
_VALUE_TYPES: dict[str, type[CounterValue]] = {"counter": CounterValue, "gauge": GaugeValue}


def ceiling(series_budget: int = DEFAULT_SERIES_BUDGET) -> tuple[int, int, int]:
    """(metrics, series, samples): the most the budgeted fleet metrics can expose, histogram lines included."""
    metrics = series = samples = 0
    for m in catalogue.published_by(catalogue.EXPORTER):
        if m.scope != catalogue.FLEET:
            continue
        count = series_budget + 1 if m.labels else 1
        metrics += 1
        series += count
        samples += count * (len(m.buckets) + 3 if m.buckets is not None else 1)
    return metrics, series, samples


class Family(dict[tuple[str, ...], S]):
    """One metric's series by label values (``family[labels]``); a combination not seen before is made on first
    use, within the metric's budget (``FleetMetrics.child``)."""

    __slots__ = ("_fleet", "name")

    def __init__(self, fleet: FleetMetrics, name: str):
        super().__init__()
        self._fleet = fleet
        self.name = name

    def __missing__(self, labels: tuple[str, ...]) -> S:
        made: S = self._fleet.make(self.name, labels)  # type: ignore[assignment]
        return made


class FleetMetrics:
    """Every catalogued exporter metric that is not per-call; ``child(name, *labels)`` is its series.

    Each fleet metric holds at most ``series_budget`` series plus one: once it holds its budget, a new label
    combination is folded into the series whose every label is ``other`` (its values still count, in that
    series) and ``ai_agent_exporter_series_overflow_total{metric}`` counts the update.
    """

    def __init__(self, series_budget: int = DEFAULT_SERIES_BUDGET):
        self.series_budget = series_budget
        self._metrics = {m.name: m for m in catalogue.published_by(catalogue.EXPORTER) if m.scope != catalogue.PER_CALL}
        self._series: dict[str, Family[SeriesValue]] = {name: Family(self, name) for name in self._metrics}
        self._folded = {name: (OTHER,) * len(m.labels) for name, m in self._metrics.items()}
        # Self-metrics are labelled from closed sets (event types, reasons, metric names): bounded as they are.
        self._unbudgeted = {name for name, m in self._metrics.items() if m.scope == catalogue.SELF}
        for m in self._metrics.values():
            if not m.labels:
                self.child(m.name)  # unlabelled metrics are exposed from the start, at zero

    def labels_for(self, name: str, labels: tuple[str, ...]) -> tuple[str, ...]:
        """The labels ``name``'s series for ``labels`` is kept under: ``labels``, or all ``other`` over budget."""
        series = self._series[name]
        if labels in series or len(series) < self.series_budget or name in self._unbudgeted:
            return labels
        folded = self._folded[name]
        if labels != folded:
            self.counter(_OVERFLOW, name).inc()
        return folded

    def child(self, name: str, *labels: str) -> SeriesValue:
        """The series: a CounterValue, GaugeValue or HistogramValue as the catalogue types ``name``."""
        return self._series[name][labels]

    def make(self, name: str, labels: tuple[str, ...]) -> SeriesValue:
        """The series of labels not held yet: made, or the folded series over budget."""
        m = self._metrics[name]
        if len(labels) != len(m.labels):
            raise ValueError(f"{name} takes labels {m.labels}, got {labels}")
        labels = self.labels_for(name, labels)
        series = self._series[name]
        found = series.get(labels)
        if found is None:
            found = series[labels] = HistogramValue(m.buckets) if m.buckets is not None else _VALUE_TYPES[m.type]()
        return found

    # The series of a metric of a known type: ``child`` under the type a caller needs, at no cost at run time; and
    # a metric's series as a ``Family``, for a handler to index with labels (one dict lookup, no call).
    # tests/exporter/test_catalogue.py checks that each call names a metric of its accessor's type.
    if TYPE_CHECKING:

        def counter(self, name: str, *labels: str) -> CounterValue: ...

        def gauge(self, name: str, *labels: str) -> GaugeValue: ...

        def histogram(self, name: str, *labels: str) -> HistogramValue: ...

        def counters(self, name: str) -> Family[CounterValue]: ...

        def gauges(self, name: str) -> Family[GaugeValue]: ...

        def histograms(self, name: str) -> Family[HistogramValue]: ...

    else:
        counter = gauge = histogram = child

        def counters(self, name):
            return self._series[name]

        gauges = histograms = counters

    def remove(self, name: str, *labels: str) -> None:
        self._series[name].pop(labels, None)

    def render(self) -> str:
        out: list[str] = []
        for name, m in self._metrics.items():
            out.append(header(name, m.help, m.type))
            for labels, value in self._series[name].items():
                text = label_text(m.labels, labels)
                if not isinstance(value, HistogramValue):
                    out.append(sample(name, text, value.value) + "\n")
                    continue
                prefix = text + "," if text else ""
                cumulative = 0.0
                for bound, count in zip(value.bounds, value.counts, strict=False):
                    cumulative += count
                    out.append(sample(f"{name}_bucket", f'{prefix}le="{float(bound)!r}"', cumulative) + "\n")
                out.append(sample(f"{name}_bucket", f'{prefix}le="+Inf"', value.count) + "\n")
                out.append(sample(f"{name}_sum", text, value.sum) + "\n")
                out.append(sample(f"{name}_count", text, value.count) + "\n")
        return "".join(out)
