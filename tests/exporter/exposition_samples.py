"""Reading an exporter's exposition as samples: an in-process Exporter's render(), or a running service's /metrics
through ``Page``."""

from __future__ import annotations

from typing import Protocol

import requests
from prometheus_client.parser import text_string_to_metric_families

from voice_monitoring.shared import catalogue

FLEET = {m.name: m for m in catalogue.published_by(catalogue.EXPORTER) if m.scope != catalogue.PER_CALL}


class Rendering(Protocol):
    def render(self) -> bytes: ...


class Page:
    """A running service's /metrics, read through the same helpers that read an Exporter's render()."""

    def __init__(self, service):
        self.url = service.url + "/metrics"

    def render(self) -> bytes:
        return requests.get(self.url, timeout=10).content


def samples(exporter: Rendering) -> dict[tuple[str, tuple], float]:
    """Every sample, keyed by (sample name, sorted label pairs)."""
    out = {}
    for family in text_string_to_metric_families(exporter.render().decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(exporter: Rendering, name: str, **labels) -> float | None:
    """The sample ``name`` with exactly ``labels``, or None if it is not exposed."""
    return samples(exporter).get((name, tuple(sorted(labels.items()))))


def per_call_names(exporter: Rendering, call_id: str) -> set[str]:
    """The names of the samples labelled with ``call_id``."""
    return {name for (name, labels) in samples(exporter) if ("call_id", call_id) in labels}


def series_by_metric(exporter: Rendering) -> dict[str, dict[tuple, float]]:
    """The fleet metrics' samples by catalogue name (histograms by their count), each keyed by sorted label pairs."""
    out: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(exporter.render().decode()):
        for s in family.samples:
            name = s.name if s.name in FLEET else family.name + ("_total" if family.type == "counter" else "")
            if name not in FLEET or s.name.endswith(("_bucket", "_sum")):
                continue
            out.setdefault(name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out
