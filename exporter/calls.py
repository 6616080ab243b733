"""What the exporter keeps of one live call: its labels, lifecycle flags and running aggregates.

``call_series`` renders these as per-call series; ``expiry`` decides when a call goes.
"""

from __future__ import annotations

import math
from bisect import insort
from typing import Any

from voice_monitoring.exporter.exposition import label_text
from voice_monitoring.exporter.labels import UNKNOWN
from voice_monitoring.shared import catalogue

MAX_SAMPLES = 2000  # latencies kept per call (a two-hour call at a turn every 5 s has 1,440 turns)


def _add_sample(ordered: list[float], value: float) -> None:
    """Insert into an ascending list; a full list drops every other value, which keeps its quantiles."""
    insort(ordered, value)
    if len(ordered) > MAX_SAMPLES:
        del ordered[::2]


class Call:
    __slots__ = (
        "call_id",
        "tenant",
        "provider",
        "pipeline",
        "agent",
        "agent_version",
        "model",
        "transport",
        "codec",
        "started",
        "adopted",
        "started_at",
        "ended",
        "end_reason_raw",
        "last_seen",
        "state",
        "tts_gating",
        "audio_capture",
        "turns",
        "turn_latencies",
        "reported_turn_response_p95",
        "agent_speech",
        "underflows",
        "fallbacks",
        "barge_ins",
        "reactions",
        "false_interruptions",
        "codec_checks",
        "codec_aligned",
        "rms_n",
        "rms_mean",
        "rms_m2",
        "rtt",
        "jitter",
        "loss",
        "burst",
        "concealment",
        "clipping",
        "reported_cost",
        "estimated_cost",
        "usage",
        "unpriced",
        "exposed",
        "promoted",
        "feedback_sources",
        "_labels",
    )

    def __init__(self, call_id: str, tenant: str, provider: str, pipeline: str, now: float):
        self.call_id = call_id
        self.tenant = tenant
        self.provider = provider
        self.pipeline = pipeline
        self.agent = UNKNOWN  # the agent and its version, folded like the other labels
        self.agent_version = UNKNOWN
        self.model: str | None = None
        self.transport: str | None = None
        self.codec: str | None = None
        self.started = False  # in progress: counted in the live gauges until it ends or expires
        self.adopted = False  # first seen through an event other than call.started
        self.started_at = now
        self.ended = False
        self.end_reason_raw: str | None = None  # call.ended's raw reason, shown per call, never on a fleet label
        self.last_seen = now
        self.state: str | None = None
        self.tts_gating = False
        self.audio_capture = False
        self.turns = 0
        self.turn_latencies: list[float] = []  # ascending, so a scrape reads the p95 without sorting
        self.reported_turn_response_p95: float | None = (
            None  # the platform's own p95, for a call that reported no turns
        )
        self.agent_speech = 0.0
        self.underflows = 0
        self.fallbacks = 0
        self.barge_ins = 0
        self.reactions: list[float] = []  # ascending
        self.false_interruptions = 0
        self.codec_checks = 0
        self.codec_aligned = 0
        self.rms_n = 0
        self.rms_mean = 0.0
        self.rms_m2 = 0.0
        self.rtt: float | None = None
        self.jitter: float | None = None
        self.loss: float | None = None
        self.burst: float | None = None
        self.concealment: float | None = None
        self.clipping: float | None = None  # the highest clipping ratio reported at any stage
        self.reported_cost: dict[str, float] = {}  # service -> usd reported by cost events
        self.estimated_cost: dict[str, float] = {}  # service -> usd priced from usage
        self.usage: dict[tuple[str, str], list[float]] = {}  # (service, provider) -> [usd priced, usage events]
        self.unpriced: list[
            list[Any]
        ] = []  # [service, provider, unit, quantity] of usage the price table has no row for
        self.exposed: bool | None = None  # whether its per-call series are published; decided by ``sampling``
        self.promoted = False  # exposed although outside the sample, because it breached a gate
        self.feedback_sources: list[str] | None = None  # sources that rated it, one rating each; from the first
        self._labels: tuple[tuple[str, str], str] | None = None

    def label_text(self) -> str:
        """The exposition text of the call's labels, escaped once per change of provider or tenant."""
        key = (self.provider, self.tenant)
        if self._labels is None or self._labels[0] != key:
            self._labels = (key, label_text(catalogue.CALL_LABELS, (self.call_id, *key)))
        return self._labels[1]

    def add_turn(self, latency: float) -> None:
        self.turns += 1
        _add_sample(self.turn_latencies, latency)

    def add_reaction(self, seconds: float) -> None:
        _add_sample(self.reactions, seconds)

    def add_rms(self, rms: float) -> None:
        level = 20.0 * math.log10(max(rms, 1e-5))
        self.rms_n += 1
        delta = level - self.rms_mean
        self.rms_mean += delta / self.rms_n
        self.rms_m2 += delta * (level - self.rms_mean)

    def add_usage(self, service: str, provider: str, unit: str, quantity: float, usd: float | None) -> None:
        """Usage priced (or found unpriced) now, booked when the call settles."""
        if usd is None:
            for entry in self.unpriced:
                if entry[0] == service and entry[1] == provider and entry[2] == unit:
                    entry[3] += quantity
                    return
            self.unpriced.append([service, provider, unit, quantity])
            return
        priced = self.usage.get((service, provider))
        if priced is None:
            self.usage[(service, provider)] = [usd, 1]
        else:
            priced[0] += usd
            priced[1] += 1
        self.estimated_cost[service] = self.estimated_cost.get(service, 0.0) + usd

    def running_cost(self) -> float:
        reported = self.reported_cost
        return sum(reported.values()) + sum(v for s, v in self.estimated_cost.items() if s not in reported)
