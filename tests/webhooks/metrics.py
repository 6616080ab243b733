"""What a webhook leaves in an in-process exporter's exposition."""

from __future__ import annotations

from tests.exporter.exposition_samples import samples
from voice_monitoring.exporter.core import Exporter

# The counters a refused request moves: its outcome, and its credentials' failure.
REQUEST_COUNTERS = {"ai_agent_exporter_webhooks_total", "ai_agent_exporter_auth_failures_total"}


def without_webhook_counter(exporter: Exporter) -> dict:
    """Everything a refused webhook must leave alone: all series but the request counters."""
    return {key: v for key, v in samples(exporter).items() if key[0] not in REQUEST_COUNTERS}


def per_call(exporter: Exporter, call_id: str) -> dict:
    return {name: v for (name, labels), v in samples(exporter).items() if ("call_id", call_id) in labels}
