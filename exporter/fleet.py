"""Fleet and self metrics: prometheus_client objects built from the catalogue, with cached children."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics

from exporter import catalogue

# `_created` series would double every counter's and histogram's series for no use in PromQL.
disable_created_metrics()

_CLASSES = {"counter": Counter, "gauge": Gauge, "histogram": Histogram}


class FleetMetrics:
    """One prometheus_client object per catalogued exporter metric that is not per-call.

    ``child(name, *labels)`` returns the labelled child, cached so the ingest
    path pays one dict lookup instead of ``labels()``'s validation each time.
    """

    def __init__(self, registry: CollectorRegistry):
        self._metrics = {}
        self._children: dict[tuple, object] = {}
        for m in catalogue.published_by(catalogue.EXPORTER):
            if m.scope == catalogue.PER_CALL:
                continue
            kwargs = {"registry": registry, "labelnames": m.labels}
            if m.buckets is not None:
                kwargs["buckets"] = m.buckets
            self._metrics[m.name] = _CLASSES[m.type](m.name, m.help, **kwargs)

    def child(self, name: str, *labels: str):
        key = (name, labels)
        found = self._children.get(key)
        if found is None:
            metric = self._metrics[name]
            found = metric.labels(*labels) if labels else metric
            self._children[key] = found
        return found

    def remove(self, name: str, *labels: str) -> None:
        if self._children.pop((name, labels), None) is not None:
            self._metrics[name].remove(*labels)
