"""Exposition A/B: the exporter's hand-written metrics against prometheus_client, same process, same data.

Two questions, each answered by timing both ways on identical input in this run:

- per-call series: rendering the live calls' series by hand (``CallTable.render``) against the same series
  set on prometheus_client gauges and rendered by ``generate_latest``;
- fleet metrics: ingesting the simulator's events with the hand-written holders (``FleetMetrics``) against
  the same exporter with prometheus_client metrics in their place, then rendering each.

Rates are per CPU-second of this process (best of three), so a busy machine disturbs them less.
"""

from __future__ import annotations

import contextlib
import sys
import time
from unittest import mock

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest

from scripts.bench_exporter import render_ms, simulated_batches
from voice_monitoring.exporter import call_series, core
from voice_monitoring.exporter.request_body import parse_body
from voice_monitoring.shared import catalogue

_CLIENT_TYPES = {"counter": Counter, "gauge": Gauge, "histogram": Histogram}


class ClientFleet:
    """FleetMetrics' interface over prometheus_client metrics: the alternative the A/B weighs."""

    def __init__(self, series_budget: int = 0):
        self.registry = CollectorRegistry()
        self._metrics = {}
        for m in catalogue.published_by(catalogue.EXPORTER):
            if m.scope == catalogue.PER_CALL:
                continue
            kwargs = {"buckets": m.buckets} if m.type == "histogram" else {}
            self._metrics[m.name] = _CLIENT_TYPES[m.type](m.name, m.help, m.labels, registry=self.registry, **kwargs)

    def labels_for(self, name: str, labels: tuple[str, ...]) -> tuple[str, ...]:
        return labels  # no series budget: the alternative is given the benefit of the doubt

    def child(self, name: str, *labels: str):
        metric = self._metrics[name]
        return metric.labels(*labels) if labels else metric

    def remove(self, name: str, *labels: str) -> None:
        with contextlib.suppress(KeyError):
            self._metrics[name].remove(*labels)

    def render(self) -> str:
        return generate_latest(self.registry).decode()


def cpu_timed(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def fleet_ingest_rate(batches: list[bytes], client: bool) -> tuple[float, float]:
    """Events per CPU-second through Exporter.ingest, and the fleet render time in ms afterwards."""
    with mock.patch.object(core, "FleetMetrics", ClientFleet if client else core.FleetMetrics):
        exporter = core.Exporter(core.Limits(max_live_calls=1_000_000))
    assert isinstance(exporter.fleet, ClientFleet) == client
    parsed = [parse_body(body, "application/json", 10_000)[0] for body in batches]
    count = sum(len(events) for events in parsed)
    seconds = cpu_timed(lambda: [exporter.ingest(events) for events in parsed])
    render = min(cpu_timed(exporter.fleet.render) for _ in range(5))
    return count / seconds, render * 1000


def per_call_render_ms(live_calls: int) -> tuple[float, float]:
    """Rendering the per-call series of ``live_calls`` calls: by hand, and set on prometheus_client gauges."""
    exporter = render_ms(live_calls, keep=True)
    registry = CollectorRegistry()
    gauges = {m.name: Gauge(m.name, m.help, m.labels, registry=registry) for m in catalogue.per_call()}
    calls = exporter.registry.calls
    for call in calls.values():
        for name, value, extra in call_series.series(call):
            gauges[name].labels(call.call_id, call.provider, call.tenant, *extra).set(value)
    hand = min(cpu_timed(lambda: call_series.render(calls.values())) for _ in range(3))
    client = min(cpu_timed(lambda: generate_latest(registry)) for _ in range(3))
    return hand * 1000, client * 1000


def main() -> int:
    disable_created_metrics()
    print("exposition A/B: hand-written against prometheus_client (same process, same data, CPU time)\n")
    for calls in (1000, 10_000):
        hand, client = per_call_render_ms(calls)
        print(
            f"per-call render, {calls:>6,} live calls: by hand {hand:8.1f} ms, prometheus_client {client:8.1f} ms "
            f"({client / hand:.1f}x)"
        )
    batches = simulated_batches(1000)
    hand_rates, client_rates = [], []
    for _ in range(3):  # interleaved, so both see the same machine
        hand_rates.append(fleet_ingest_rate(batches, client=False))
        client_rates.append(fleet_ingest_rate(batches, client=True))
    hand, hand_render = max(hand_rates)
    client, client_render = max(client_rates)
    print(
        f"fleet ingest: hand-written holders {hand:10,.0f} events/s, prometheus_client {client:10,.0f} events/s "
        f"({hand / client:.2f}x)"
    )
    print(f"fleet render: hand-written {hand_render:.2f} ms, prometheus_client {client_render:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
