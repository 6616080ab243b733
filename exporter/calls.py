"""Per-call state and the per-call series rendered from it.

A call's series exist while it is live and for a grace period after it ends;
a call that goes silent is expired after an idle timeout.  Removing a call is
removing its entry from ``CallTable.calls``: the collector renders only what
is there.
"""

from __future__ import annotations

import math
from bisect import insort
from collections import deque

from voice_monitoring.exporter.exposition import escape, header, label_text
from voice_monitoring.shared import catalogue

_PER_CALL = {m.name: m for m in catalogue.per_call(catalogue.EXPORTER)}


def p95(ordered: list[float]) -> float:
    """Nearest-rank 95th percentile of an ascending list."""
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


class Call:
    __slots__ = (
        "call_id",
        "tenant",
        "provider",
        "pipeline",
        "model",
        "transport",
        "codec",
        "started",
        "started_at",
        "ended",
        "last_seen",
        "state",
        "tts_gating",
        "audio_capture",
        "turn_latencies",
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
        "reported_cost",
        "estimated_cost",
        "usage",
        "_labels",
    )

    def __init__(self, call_id: str, tenant: str, provider: str, pipeline: str, now: float):
        self.call_id = call_id
        self.tenant = tenant
        self.provider = provider
        self.pipeline = pipeline
        self.model = None
        self.transport = None
        self.codec = None
        self.started = False
        self.started_at = now
        self.ended = False
        self.last_seen = now
        self.state = None
        self.tts_gating = False
        self.audio_capture = False
        self.turn_latencies: list[float] = []  # ascending, so a scrape reads the p95 without sorting
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
        self.rtt = None
        self.jitter = None
        self.loss = None
        self.burst = None
        self.reported_cost: dict[str, float] = {}  # service -> usd reported by cost events
        self.estimated_cost: dict[str, float] = {}  # service -> usd priced from usage
        self.usage: list[tuple[str, str, str, str | None, float]] = []  # service, provider, unit, model, qty
        self._labels: tuple[tuple[str, str], str] | None = None

    def label_text(self) -> str:
        """The exposition text of the call's labels, escaped once per change of provider or tenant."""
        key = (self.provider, self.tenant)
        if self._labels is None or self._labels[0] != key:
            self._labels = (key, label_text(catalogue.CALL_LABELS, (self.call_id, *key)))
        return self._labels[1]

    def add_turn(self, latency: float) -> None:
        insort(self.turn_latencies, latency)

    def add_reaction(self, seconds: float) -> None:
        insort(self.reactions, seconds)

    def add_rms(self, rms: float) -> None:
        level = 20.0 * math.log10(max(rms, 1e-5))
        self.rms_n += 1
        delta = level - self.rms_mean
        self.rms_mean += delta / self.rms_n
        self.rms_m2 += delta * (level - self.rms_mean)

    def running_cost(self) -> float:
        reported = self.reported_cost
        return sum(reported.values()) + sum(v for s, v in self.estimated_cost.items() if s not in reported)

    def series(self):
        """(metric name, value, extra label values) for every per-call series this call has now."""
        yield "ai_agent_call_started_timestamp_seconds", self.started_at, ()
        yield "ai_agent_call_ended", 1.0 if self.ended else 0.0, ()
        yield "ai_agent_call_turns", len(self.turn_latencies), ()
        if self.turn_latencies:
            yield "ai_agent_call_turn_response_p95_seconds", p95(self.turn_latencies), ()
        yield "ai_agent_call_agent_speech_seconds", self.agent_speech, ()
        yield "ai_agent_call_underflow_events", self.underflows, ()
        yield "ai_agent_call_streaming_fallbacks", self.fallbacks, ()
        yield "ai_agent_call_barge_ins", self.barge_ins, ()
        if self.reactions:
            yield "ai_agent_call_barge_in_reaction_p95_seconds", p95(self.reactions), ()
        yield "ai_agent_call_false_interruptions", self.false_interruptions, ()
        if self.codec_checks:
            yield "ai_agent_call_codec_alignment_ratio", self.codec_aligned / self.codec_checks, ()
        if self.rms_n >= 2:
            yield "ai_agent_call_rms_spread_db", math.sqrt(self.rms_m2 / (self.rms_n - 1)), ()
        if self.rtt is not None:
            yield "ai_agent_call_transport_rtt_seconds", self.rtt, ()
        if self.jitter is not None:
            yield "ai_agent_call_transport_jitter_seconds", self.jitter, ()
        if self.loss is not None:
            yield "ai_agent_call_transport_packet_loss_ratio", self.loss, ()
        if self.burst is not None:
            yield "ai_agent_call_transport_burst_ratio", self.burst, ()
        if self.codec is not None:
            yield "ai_agent_call_codec_info", 1.0, (self.codec,)
        yield "ai_agent_call_running_cost_usd", self.running_cost(), ()


class CallTable:
    """Live calls by id, with the bookkeeping to expire them."""

    def __init__(self, grace_seconds: float, idle_seconds: float, remember_removed: int = 100_000):
        self.grace_seconds = grace_seconds
        self.idle_seconds = idle_seconds
        self.calls: dict[str, Call] = {}
        self._ended: deque[tuple[float, str]] = deque()  # (remove at, call_id), in order of ending
        # Ids of calls removed after their grace period, so a late event does not bring one back.
        self._removed: set[str] = set()
        self._removed_order: deque[str] = deque(maxlen=remember_removed)

    def recently_removed(self, call_id: str) -> bool:
        return call_id in self._removed

    def _remember_removed(self, call_id: str) -> None:
        if len(self._removed_order) == self._removed_order.maxlen:
            self._removed.discard(self._removed_order[0])
        self._removed_order.append(call_id)
        self._removed.add(call_id)

    def mark_ended(self, call: Call, now: float) -> None:
        call.ended = True
        self._ended.append((now + self.grace_seconds, call.call_id))

    def expired(self, now: float):
        """Remove and yield (call, reason) for calls past their grace period or idle timeout."""
        ended = self._ended
        while ended and ended[0][0] <= now:
            _, call_id = ended.popleft()
            call = self.calls.get(call_id)
            if call is not None and call.ended:
                del self.calls[call_id]
                self._remember_removed(call_id)
                yield call, "grace"
        cutoff = now - self.idle_seconds
        idle = [c for c in self.calls.values() if c.last_seen < cutoff and not c.ended]
        for call in idle:
            del self.calls[call.call_id]
            yield call, "idle"

    def render(self) -> tuple[str, int]:
        """Every per-call series in the Prometheus text format, and how many there are.

        Written by hand rather than through prometheus_client: with thousands of live calls the
        generic renderer is several times slower, and this is the bulk of every scrape.
        """
        lines: dict[str, list[str]] = {name: [] for name in _PER_CALL}
        for call in self.calls.values():
            labels = call.label_text()
            for name, value, extra in call.series():
                if extra:
                    names = _PER_CALL[name].labels[len(catalogue.CALL_LABELS) :]
                    extra_text = "".join(f',{n}="{escape(v)}"' for n, v in zip(names, extra, strict=False))
                    lines[name].append(f"{name}{{{labels}{extra_text}}} {float(value)!r}")
                else:
                    lines[name].append(f"{name}{{{labels}}} {float(value)!r}")
        out = []
        count = 0
        for name, rows in lines.items():
            out.append(header(name, _PER_CALL[name].help, "gauge"))
            if rows:
                out.append("\n".join(rows))
                out.append("\n")
                count += len(rows)
        return "".join(out), count
