"""Rendering the per-call series of the live calls in the Prometheus text format.

Written by hand rather than through prometheus_client: with thousands of live calls the generic
renderer is several times slower, and this is the bulk of every scrape.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

from voice_monitoring.exporter.calls import Call
from voice_monitoring.exporter.exposition import escape, header, label_text
from voice_monitoring.exporter.feedback import RATING, Rating
from voice_monitoring.shared import catalogue

_PER_CALL = {m.name: m for m in catalogue.per_call(catalogue.EXPORTER)}


def p95(ordered: list[float]) -> float:
    """Nearest-rank 95th percentile of an ascending list."""
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def series(call: Call) -> Iterator[tuple[str, float, tuple[str, ...]]]:
    """(metric name, value, extra label values) for every per-call series the call has now."""
    yield "ai_agent_call_started_timestamp_seconds", call.started_at, ()
    yield "ai_agent_call_ended", 1.0 if call.ended else 0.0, ()
    if call.end_reason_raw is not None:
        yield "ai_agent_call_end_reason_info", 1.0, (call.end_reason_raw,)
    yield "ai_agent_call_turns", call.turns, ()
    yield "ai_agent_call_agent_info", 1.0, (call.agent, call.agent_version)
    if call.turn_latencies:
        yield "ai_agent_call_turn_response_p95_seconds", p95(call.turn_latencies), ()
    elif call.reported_turn_response_p95 is not None:
        yield "ai_agent_call_turn_response_p95_seconds", call.reported_turn_response_p95, ()
    yield "ai_agent_call_agent_speech_seconds", call.agent_speech, ()
    yield "ai_agent_call_underflow_events", call.underflows, ()
    yield "ai_agent_call_streaming_fallbacks", call.fallbacks, ()
    yield "ai_agent_call_barge_ins", call.barge_ins, ()
    if call.reactions:
        yield "ai_agent_call_barge_in_reaction_p95_seconds", p95(call.reactions), ()
    yield "ai_agent_call_false_interruptions", call.false_interruptions, ()
    if call.codec_checks:
        yield "ai_agent_call_codec_alignment_ratio", call.codec_aligned / call.codec_checks, ()
    if call.rms_n >= 2:
        yield "ai_agent_call_rms_spread_db", math.sqrt(call.rms_m2 / (call.rms_n - 1)), ()
    if call.rtt is not None:
        yield "ai_agent_call_transport_rtt_seconds", call.rtt, ()
    if call.jitter is not None:
        yield "ai_agent_call_transport_jitter_seconds", call.jitter, ()
    if call.loss is not None:
        yield "ai_agent_call_transport_packet_loss_ratio", call.loss, ()
    if call.burst is not None:
        yield "ai_agent_call_transport_burst_ratio", call.burst, ()
    if call.concealment is not None:
        yield "ai_agent_call_transport_concealment_ratio", call.concealment, ()
    if call.clipping is not None:
        yield "ai_agent_call_audio_clipping_ratio", call.clipping, ()
    if call.codec is not None:
        yield "ai_agent_call_codec_info", 1.0, (call.codec,)
    yield "ai_agent_call_running_cost_usd", call.running_cost(), ()
    if call.promoted:
        yield "ai_agent_call_promoted", 1.0, ()


def render(calls: Iterable[Call], ratings: Iterable[Rating] = ()) -> tuple[str, int]:
    """Every per-call series of ``calls``, and the feedback ratings (``FeedbackLedger.series``), in the Prometheus
    text format, and how many series there are."""
    lines: dict[str, list[str]] = {name: [] for name in _PER_CALL}
    rating_names = _PER_CALL[RATING].labels
    for row in ratings:
        call_id, provider, tenant, (source, scale), value = row
        text = label_text(rating_names, (call_id, provider, tenant, source, scale))
        lines[RATING].append(f"{RATING}{{{text}}} {float(value)!r}")
    for call in calls:
        labels = call.label_text()
        for name, value, extra in series(call):
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
