"""Reading an in-process exporter's exposition in webhook tests."""

from __future__ import annotations

from tests.exporter.test_call_lifecycle import Clock, samples, value  # noqa: F401  (re-exported for the webhook tests)
from voice_monitoring.exporter.mapping import Exporter, Limits

# The counters a refused request moves: its outcome, and its credentials' failure.
REQUEST_COUNTERS = {"ai_agent_exporter_webhooks_total", "ai_agent_exporter_auth_failures_total"}


def make_exporter(clock: Clock) -> Exporter:
    return Exporter(Limits(grace_seconds=120, idle_seconds=600), clock=clock)


def without_webhook_counter(exporter: Exporter) -> dict:
    """Everything a refused webhook must leave alone: all series but the request counters."""
    return {key: v for key, v in samples(exporter).items() if key[0] not in REQUEST_COUNTERS}


def per_call(exporter: Exporter, call_id: str) -> dict:
    return {name: v for (name, labels), v in samples(exporter).items() if ("call_id", call_id) in labels}
