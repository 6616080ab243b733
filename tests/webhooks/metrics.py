"""Reading an in-process exporter's exposition in webhook tests."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from voice_monitoring.exporter.mapping import Exporter, Limits

SELF_COUNTER = "ai_agent_exporter_webhooks_total"


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_exporter(clock: Clock) -> Exporter:
    return Exporter(Limits(grace_seconds=120, idle_seconds=600), clock=clock)


def samples(exporter: Exporter) -> dict:
    out = {}
    for family in text_string_to_metric_families(exporter.render().decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(exporter: Exporter, name: str, **labels) -> float | None:
    return samples(exporter).get((name, tuple(sorted(labels.items()))))


def without_webhook_counter(exporter: Exporter) -> dict:
    """Everything a refused webhook must leave alone: all series but the webhook request counter."""
    return {key: v for key, v in samples(exporter).items() if key[0] != SELF_COUNTER}


def per_call(exporter: Exporter, call_id: str) -> dict:
    return {name: v for (name, labels), v in samples(exporter).items() if ("call_id", call_id) in labels}
