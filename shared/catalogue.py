"""The one catalogue of metric names published by the stack.

The exporter registers these, the scorer publishes its own section of it, the
dashboards and rule lint check their queries against it, and
``docs/metrics.md`` is generated from it.  Nothing else spells a metric name
where it could ask this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from voice_monitoring.shared import quality_bands

NAMESPACE = "ai_agent"

LATENCY_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0)
CALL_DURATION_BUCKETS = (10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0)
CALL_COST_BUCKETS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
RATIO_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
JITTER_BUFFER_BUCKETS = (0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0)
RTT_BUCKETS = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 1.0)
LOSS_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)
JITTER_BUCKETS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12, 0.2)
QUALITY_SCORE_BUCKETS = (10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 75.0, 80.0, 85.0, 90.0, 95.0, 100.0)
SCORER_CYCLE_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0)

CALL_LABELS = ("call_id", "provider", "tenant")

# The one name outside the namespace: the standard process metric every Prometheus client library publishes.
STANDARD_PROCESS_START = "process_start_time_seconds"

# Who publishes a metric.
EXPORTER = "exporter"
SCORER = "scorer"

# What a series describes.
FLEET = "fleet"  # aggregated over calls; never carries call_id
PER_CALL = "call"  # one series per live call, removed after the grace period
SELF = "self"  # the publishing service's own health


@dataclass(frozen=True)
class Metric:
    name: str
    type: str  # counter | gauge | histogram
    labels: tuple[str, ...]
    help: str
    unit: str
    scope: str = FLEET
    publisher: str = EXPORTER
    buckets: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.type not in ("counter", "gauge", "histogram"):
            raise ValueError(f"{self.name}: unknown type {self.type}")
        if (self.type == "counter") != self.name.endswith("_total"):
            raise ValueError(f"{self.name}: counters, and only counters, end in _total")
        if (self.type == "histogram") != (self.buckets is not None):
            raise ValueError(f"{self.name}: histograms, and only histograms, have buckets")
        if self.scope == PER_CALL and self.labels[:3] != CALL_LABELS:
            raise ValueError(f"{self.name}: per-call series start with {CALL_LABELS}")
        if self.scope != PER_CALL and "call_id" in self.labels:
            raise ValueError(f"{self.name}: call_id appears only on per-call series")

    @property
    def series_names(self) -> tuple[str, ...]:
        """The names that appear in the exposition (and so in PromQL)."""
        if self.type == "histogram":
            return (f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count")
        return (self.name,)


def _h(
    name: str,
    labels: Iterable[str],
    help: str,
    unit: str,
    buckets: tuple[float, ...],
    scope: str = FLEET,
    publisher: str = EXPORTER,
) -> Metric:
    return Metric(name, "histogram", tuple(labels), help, unit, scope=scope, publisher=publisher, buckets=buckets)


def _c(name: str, labels: Iterable[str], help: str, unit: str, scope: str = FLEET, publisher: str = EXPORTER) -> Metric:
    return Metric(name, "counter", tuple(labels), help, unit, scope=scope, publisher=publisher)


def _g(name: str, labels: Iterable[str], help: str, unit: str, scope: str = FLEET, publisher: str = EXPORTER) -> Metric:
    return Metric(name, "gauge", tuple(labels), help, unit, scope=scope, publisher=publisher)


def _call(name: str, help: str, unit: str, extra_labels: Iterable[str] = (), publisher: str = EXPORTER) -> Metric:
    return Metric(name, "gauge", CALL_LABELS + tuple(extra_labels), help, unit, scope=PER_CALL, publisher=publisher)


METRICS: tuple[Metric, ...] = (
    # --- latency histograms -------------------------------------------------
    _h(
        "ai_agent_turn_response_seconds",
        ["pipeline", "provider"],
        "End-to-end turn latency: user stops speaking to agent starts speaking.",
        "seconds",
        LATENCY_BUCKETS,
    ),
    _h(
        "ai_agent_agent_turn_response_seconds",
        ["agent"],
        "End-to-end turn latency by agent (the version is left off so it does not multiply the buckets).",
        "seconds",
        LATENCY_BUCKETS,
    ),
    _h(
        "ai_agent_stt_to_tts_seconds",
        ["pipeline", "provider"],
        "Time from the final transcript to the first synthesized audio byte of the reply.",
        "seconds",
        LATENCY_BUCKETS,
    ),
    _h(
        "ai_agent_component_latency_seconds",
        ["component", "provider"],
        "Latency of one pipeline component (stt, llm_ttft, tts_ttfb, endpointing, network, knowledge_base: retrieval "
        "to context received, s2s: speech-to-speech model request to first byte).",
        "seconds",
        LATENCY_BUCKETS,
    ),
    _h(
        "ai_agent_barge_in_reaction_seconds",
        ["provider"],
        "Time from the caller starting to speak over the agent to the agent's audio stopping.",
        "seconds",
        LATENCY_BUCKETS,
    ),
    _h(
        "ai_agent_call_duration_seconds",
        ["pipeline", "provider"],
        "Duration of ended calls.",
        "seconds",
        CALL_DURATION_BUCKETS,
    ),
    _h("ai_agent_vad_confidence", [], "Voice activity detection confidence of speech frames.", "ratio", RATIO_BUCKETS),
    _h(
        "ai_agent_call_cost_usd",
        ["tenant"],
        "Total cost of a call, observed when the call ends.",
        "usd",
        CALL_COST_BUCKETS,
    ),
    _h(
        "ai_agent_jitter_buffer_depth_frames",
        ["provider"],
        "Distribution of reported jitter buffer depths.",
        "frames",
        JITTER_BUFFER_BUCKETS,
    ),
    _h(
        "ai_agent_transport_rtt_seconds",
        ["provider"],
        "Round-trip time of the media transport.",
        "seconds",
        RTT_BUCKETS,
    ),
    _h(
        "ai_agent_transport_jitter_seconds",
        ["provider"],
        "Interarrival jitter of the media transport.",
        "seconds",
        JITTER_BUCKETS,
    ),
    _h(
        "ai_agent_transport_packet_loss_ratio",
        ["provider"],
        "Packet loss ratio of the media transport per report.",
        "ratio",
        LOSS_BUCKETS,
    ),
    _h(
        "ai_agent_transport_concealment_ratio",
        ["provider"],
        "Share of received audio samples the receiver concealed (lost or late) per transport report.",
        "ratio",
        LOSS_BUCKETS,
    ),
    # --- counters -------------------------------------------------------------
    _c("ai_agent_calls_started_total", ["tenant", "provider", "pipeline"], "Calls started.", "calls"),
    _c(
        "ai_agent_calls_adopted_total",
        ["tenant", "provider", "pipeline"],
        "Calls first seen through an event other than call.started (after an exporter restart without its "
        "state, or events out of order); calls in progress are those started plus those adopted.",
        "calls",
    ),
    _c(
        "ai_agent_calls_ended_total",
        ["tenant", "provider", "pipeline", "reason"],
        "Calls ended, by normalized reason (user_hangup, agent_hangup, transfer, timeout, error, other).",
        "calls",
    ),
    _c(
        "ai_agent_agent_calls_started_total",
        ["agent", "agent_version"],
        "Calls started, by agent and agent version.",
        "calls",
    ),
    _c(
        "ai_agent_agent_calls_ended_total",
        ["agent", "agent_version", "reason"],
        "Calls ended, by agent, agent version and normalized reason.",
        "calls",
    ),
    _c(
        "ai_agent_agent_call_seconds_total",
        ["agent", "agent_version"],
        "Duration of ended calls, summed by agent and agent version.",
        "seconds",
    ),
    _c(
        "ai_agent_agent_cost_usd_total",
        ["agent", "agent_version"],
        "Cost of ended calls (reported or priced), summed by agent and agent version.",
        "usd",
    ),
    _c("ai_agent_turns_total", ["pipeline", "provider"], "Conversation turns completed.", "turns"),
    _c("ai_agent_interrupted_turns_total", ["pipeline", "provider"], "Turns the caller interrupted.", "turns"),
    _c(
        "ai_agent_stream_underflow_events_total",
        ["provider"],
        "Playback buffer underflows while streaming agent audio.",
        "events",
    ),
    _c("ai_agent_streaming_fallbacks_total", ["provider"], "Falls back from streaming to buffered playback.", "events"),
    _c("ai_agent_barge_in_events_total", ["provider"], "Caller barge-ins over agent speech.", "events"),
    _c(
        "ai_agent_false_interruptions_total",
        ["provider"],
        "Barge-ins that turned out not to be speech (noise, backchannel).",
        "events",
    ),
    _c(
        "ai_agent_cost_usd_total",
        ["tenant", "provider", "service"],
        "Spend in US dollars, reported or priced from the price table.",
        "usd",
    ),
    _c(
        "ai_agent_usage_total",
        ["provider", "service", "unit"],
        "Usage quantity (tokens_in, tokens_out, characters, audio_seconds, minutes, tokens_in_cached: prompt tokens "
        "read from the model's cache, not counted in tokens_in).",
        "units",
    ),
    _c(
        "ai_agent_usage_unpriced_total",
        ["provider", "service", "unit"],
        "Usage the price table has no price for, so priced at 0: add the vendor (or vendor/model) to the table.",
        "units",
    ),
    _c(
        "ai_agent_provider_requests_total",
        ["provider", "service", "status"],
        "Requests to a provider's service, by status (ok, error, timeout).",
        "requests",
    ),
    _c("ai_agent_errors_total", ["component", "kind"], "Errors reported by the voice engine.", "errors"),
    _c(
        "ai_agent_call_analyses_total",
        ["tenant", "provider", "successful", "sentiment"],
        "Calls a platform's post-call analysis judged, by success (true, false, unknown) and caller sentiment.",
        "calls",
    ),
    _c(
        "ai_agent_feedback_total",
        ["tenant", "provider", "source", "negative"],
        "Feedback ratings accepted, by source and whether the rating is negative on its scale.",
        "ratings",
    ),
    _c(
        "ai_agent_codec_checks_total",
        ["provider", "result"],
        "Codec and sample-rate checks of the provider against the call's audio, by result (aligned, misaligned).",
        "checks",
    ),
    _c(
        "ai_agent_transport_connection_losses_total",
        ["provider"],
        "Media transport connections (AudioSocket, RTP, WebRTC) lost mid-call.",
        "events",
    ),
    _c(
        "ai_agent_audio_bytes_total",
        ["provider", "direction"],
        "Audio bytes received from (rx) and sent to (tx) the caller.",
        "bytes",
    ),
    # --- gauges ---------------------------------------------------------------
    _g("ai_agent_active_calls", ["tenant", "provider"], "Calls in progress.", "calls"),
    _g("ai_agent_agent_active_calls", ["agent"], "Calls in progress by agent.", "calls"),
    _g(
        "ai_agent_active_calls_by_transport",
        ["transport"],
        "Calls in progress by audio transport mode (audiosocket, external_media, webrtc, sip).",
        "calls",
    ),
    _g("ai_agent_streaming_jitter_buffer_depth", ["provider"], "Last reported jitter buffer depth.", "frames"),
    _g(
        "ai_agent_codec_alignment",
        ["provider"],
        "Whether the provider's codec and sample rate match the call's (1 aligned, 0 not).",
        "bool",
    ),
    _g("ai_agent_audio_rms", ["stage"], "Last reported RMS level of the audio at a stage, full scale 1.", "ratio"),
    _g(
        "ai_agent_audio_dc_offset", ["stage"], "Last reported DC offset of the audio at a stage, full scale 1.", "ratio"
    ),
    _g(
        "ai_agent_audio_clipping_ratio",
        ["stage"],
        "Last reported share of the audio's samples at full scale at a stage.",
        "ratio",
    ),
    _g(
        "ai_agent_conversation_state",
        ["state"],
        "Calls in each conversation state (greeting, listening, processing, speaking).",
        "calls",
    ),
    _g("ai_agent_tts_gating_active", [], "Calls whose microphone is gated while the agent speaks.", "calls"),
    _g("ai_agent_audio_capture_enabled", [], "Calls whose caller audio capture is enabled.", "calls"),
    _g("ai_agent_worker_memory_ratio", ["worker"], "Worker memory use as a fraction of its limit.", "ratio"),
    _g("ai_agent_worker_cpu_ratio", ["worker"], "Worker CPU use as a fraction of its allowance.", "ratio"),
    _g("ai_agent_worker_active_calls", ["worker"], "Calls handled by a worker.", "calls"),
    _g(
        "ai_agent_circuit_breaker_state", ["breaker"], "Circuit breaker state (0 closed, 1 half-open, 2 open).", "state"
    ),
    _g(
        "ai_agent_provider_up",
        ["provider", "service"],
        "Whether a provider's service is reachable (1 up, 0 down).",
        "bool",
    ),
    # --- per-call series (exporter) ------------------------------------------
    _call("ai_agent_call_started_timestamp_seconds", "When the call started (Unix time).", "seconds"),
    _call("ai_agent_call_ended", "1 once the call has ended (the series lingers for the grace period).", "bool"),
    _call("ai_agent_call_turns", "Turns completed so far in the call.", "turns"),
    _call(
        "ai_agent_call_end_reason_info",
        "The call's raw end reason as the engine or platform reported it, as a label (value always 1), once the "
        "call has ended; the fleet's reason label is its normalized bucket.",
        "info",
        ["reason"],
    ),
    _call(
        "ai_agent_call_turn_response_p95_seconds",
        "p95 of the call's end-to-end turn latency so far; for a call that reported no turns, the p95 its platform "
        "computed, once the call has ended.",
        "seconds",
    ),
    _call("ai_agent_call_agent_speech_seconds", "Seconds the agent has spoken so far in the call.", "seconds"),
    _call("ai_agent_call_underflow_events", "Playback underflows so far in the call.", "events"),
    _call("ai_agent_call_streaming_fallbacks", "Streaming fallbacks so far in the call.", "events"),
    _call("ai_agent_call_barge_ins", "Barge-ins so far in the call.", "events"),
    _call("ai_agent_call_barge_in_reaction_p95_seconds", "p95 of the call's barge-in reaction time so far.", "seconds"),
    _call("ai_agent_call_false_interruptions", "False interruptions so far in the call.", "events"),
    _call("ai_agent_call_codec_alignment_ratio", "Fraction of the call's codec checks that were aligned.", "ratio"),
    _call("ai_agent_call_rms_spread_db", "Standard deviation of the call's per-turn agent audio level, in dB.", "dB"),
    _call("ai_agent_call_transport_rtt_seconds", "Last reported transport round-trip time of the call.", "seconds"),
    _call("ai_agent_call_transport_jitter_seconds", "Last reported transport jitter of the call.", "seconds"),
    _call("ai_agent_call_transport_packet_loss_ratio", "Last reported packet loss ratio of the call.", "ratio"),
    _call(
        "ai_agent_call_transport_concealment_ratio",
        "Last reported share of the call's received audio samples that were concealed.",
        "ratio",
    ),
    _call(
        "ai_agent_call_audio_clipping_ratio",
        "Highest share of samples at full scale reported at any stage of the call.",
        "ratio",
    ),
    _call(
        "ai_agent_call_transport_burst_ratio", "Last reported packet loss burst ratio of the call (1 random).", "ratio"
    ),
    _call(
        "ai_agent_call_agent_info",
        "The call's agent and agent version, as labels (value always 1; unknown when the call named none).",
        "info",
        ["agent", "agent_version"],
    ),
    _call("ai_agent_call_codec_info", "The call's media codec, as a label (value always 1).", "info", ["codec"]),
    _call("ai_agent_call_running_cost_usd", "Cost of the call so far, reported or priced.", "usd"),
    _call(
        "ai_agent_call_promoted",
        "1 on a call outside the per-call sample, exposed because it breached a quality gate; absent otherwise.",
        "bool",
    ),
    _call(
        "ai_agent_call_feedback_rating",
        "A caller's (or a platform's) rating of the call on its scale, published for a few minutes after it arrived, "
        "so the scorer pairs it with the call's final score.",
        "rating",
        ["source", "scale"],
    ),
    # --- exporter self-metrics ------------------------------------------------
    _c("ai_agent_exporter_events_accepted_total", ["type"], "Events accepted and applied.", "events", scope=SELF),
    _c(
        "ai_agent_exporter_events_rejected_total",
        ["type", "reason"],
        "Events rejected, by type and reason.",
        "events",
        scope=SELF,
    ),
    _c(
        "ai_agent_exporter_events_duplicate_total",
        ["type"],
        "Events ignored because their id was seen within the dedup window.",
        "events",
        scope=SELF,
    ),
    _c(
        "ai_agent_exporter_dedup_ids_evicted_total",
        [],
        "Event ids forgotten before their dedup window ended because the id memory was full.",
        "ids",
        scope=SELF,
    ),
    _c(
        "ai_agent_exporter_removed_calls_forgotten_total",
        [],
        "Ids of removed calls forgotten before their guard window ended because the guard was full.",
        "calls",
        scope=SELF,
    ),
    _c(
        "ai_agent_exporter_price_cache_overflow_total",
        [],
        "Usage prices looked up without caching because the price cache was full.",
        "lookups",
        scope=SELF,
    ),
    _c(
        "ai_agent_exporter_series_overflow_total",
        ["metric"],
        "Updates folded into a metric's 'other' series because the metric holds its series budget.",
        "updates",
        scope=SELF,
    ),
    _c(
        "ai_agent_exporter_label_values_folded_total",
        ["label"],
        "Label values folded into 'other' because the label reached its limit.",
        "events",
        scope=SELF,
    ),
    _c(
        "ai_agent_exporter_webhooks_total",
        ["platform", "outcome"],
        "Platform webhook requests by outcome (applied, duplicate, ignored, invalid, too_old, unauthorized, "
        "not_configured); forgotten counts applied reports dropped early from the full dedup ledger; "
        "unknown_product counts billed products of a report the receiver's table does not know (booked under "
        "service platform), once per entry.",
        "requests",
        scope=SELF,
    ),
    _c(
        "ai_agent_exporter_auth_failures_total",
        ["endpoint", "reason"],
        "Requests refused for their credentials, by endpoint (events and traces check the ingest bearer token; vapi "
        "and retell their platform's secret or signature) and reason (missing, malformed, wrong, stale: a "
        "signature timestamp outside the tolerance). Nothing the request carried is recorded.",
        "requests",
        scope=SELF,
    ),
    _c(
        "ai_agent_exporter_otlp_spans_unmapped_total",
        ["scope"],
        "OTLP spans received on /v1/traces that no mapping table turns into events, by instrumentation scope "
        "(folded into other beyond the label limit).",
        "spans",
        scope=SELF,
    ),
    _c(
        "ai_agent_exporter_calls_expired_total",
        ["reason"],
        "Per-call series removed (grace after call end, or idle timeout).",
        "calls",
        scope=SELF,
    ),
    _c(
        "ai_agent_exporter_usage_priced_total",
        ["service"],
        "Usage priced from the price table because no cost event was reported.",
        "events",
        scope=SELF,
    ),
    _g(
        STANDARD_PROCESS_START,
        [],
        "When the process started (Unix time); a change tells Prometheus the counters were reset.",
        "seconds",
        scope=SELF,
    ),
    _g("ai_agent_exporter_live_calls", [], "Calls the exporter holds (live or in grace).", "calls", scope=SELF),
    _g("ai_agent_exporter_per_call_series", [], "Per-call series currently exposed.", "series", scope=SELF),
    _g(
        "ai_agent_exporter_per_call_sample_ratio",
        [],
        "Fraction of calls whose per-call series are exposed from their start (--per-call-sample-ratio).",
        "ratio",
        scope=SELF,
    ),
    _g(
        "ai_agent_exporter_per_call_withheld_calls",
        [],
        "Calls held whose per-call series are withheld: outside the sample, no gate breached.",
        "calls",
        scope=SELF,
    ),
    _c(
        "ai_agent_exporter_calls_promoted_total",
        [],
        "Calls outside the per-call sample whose series were exposed because they breached a quality gate.",
        "calls",
        scope=SELF,
    ),
    _c(
        "ai_agent_exporter_feedback_calls_forgotten_total",
        [],
        "Ended calls whose feedback window was forgotten before it closed because the feedback ledger was full.",
        "calls",
        scope=SELF,
    ),
    # --- scorer ----------------------------------------------------------------
    _call("ai_agent_call_quality_score", "Call quality score, 0 (worst) to 100 (best).", "score", publisher=SCORER),
    _call(
        "ai_agent_call_quality_band",
        f"Call quality band ({', '.join(f'{b.level} {b.name}' for b in quality_bands.ALL)}).",
        "band",
        publisher=SCORER,
    ),
    _call(
        "ai_agent_call_quality_penalty",
        "Points one factor takes off the call's quality score.",
        "points",
        ["factor"],
        publisher=SCORER,
    ),
    _call(
        "ai_agent_call_quality_insufficient_data",
        "1 while a call has too few turns to score (no score is published).",
        "bool",
        publisher=SCORER,
    ),
    _call(
        "ai_agent_call_mos_estimate",
        "E-model (ITU-T G.107) MOS estimate from transport inputs, 1 to 4.5.",
        "mos",
        publisher=SCORER,
    ),
    _call(
        "ai_agent_call_r_factor", "E-model (ITU-T G.107) transmission rating factor R, 0 to 100.", "R", publisher=SCORER
    ),
    _call(
        "ai_agent_call_final_quality_score",
        "Final quality score of an ended call, with its band and main penalty factor, published while the call ranks "
        "among the 10 worst of its provider or the 10 costliest of its tenant ended in the scorer's final-record "
        "window (an hour by default): the bounded index the calls-in-range tables read.",
        "score",
        ["band", "factor"],
        publisher=SCORER,
    ),
    _call(
        "ai_agent_call_final_cost_usd",
        "Cost of an ended call when the scorer saw it end, published with its final quality score.",
        "usd",
        publisher=SCORER,
    ),
    _h(
        "ai_agent_call_quality_final_score",
        ["provider", "tenant"],
        "Final quality score of ended calls, observed once per call.",
        "score",
        QUALITY_SCORE_BUCKETS,
        publisher=SCORER,
    ),
    _h(
        "ai_agent_scorer_cycle_seconds",
        [],
        "Duration of one scoring cycle.",
        "seconds",
        SCORER_CYCLE_BUCKETS,
        scope=SELF,
        publisher=SCORER,
    ),
    _g(
        "ai_agent_scorer_last_success_timestamp_seconds",
        [],
        "When the last scoring cycle succeeded (Unix time).",
        "seconds",
        scope=SELF,
        publisher=SCORER,
    ),
    _g(
        "ai_agent_quality_calibration_auc",
        ["provider"],
        "ROC AUC of the final quality score against negative feedback over the calibration window: the chance that a "
        "call rated well scored higher than a call rated negatively (0.5 is chance, 1 perfect); absent below the "
        "minimum sample.",
        "ratio",
        publisher=SCORER,
    ),
    _g(
        "ai_agent_quality_calibration_pairs",
        ["provider"],
        "Ratings paired with a final quality score in the calibration window.",
        "ratings",
        publisher=SCORER,
    ),
    _g(
        "ai_agent_quality_calibration_negative_pairs",
        ["provider"],
        "Negative ratings paired with a final quality score in the calibration window.",
        "ratings",
        publisher=SCORER,
    ),
    _g(
        "ai_agent_quality_calibration_mean_rating",
        ["provider", "band"],
        "Mean rating of the calls in a quality band over the calibration window, each rating mapped onto 0 (worst on "
        "its scale) to 1 (best); absent below the minimum sample.",
        "ratio",
        publisher=SCORER,
    ),
    _g(
        "ai_agent_quality_calibration_band_pairs",
        ["provider", "band"],
        "Ratings paired with a final score in a quality band in the calibration window.",
        "ratings",
        publisher=SCORER,
    ),
    _c(
        "ai_agent_scorer_feedback_total",
        ["outcome"],
        "Ratings the scorer read, by outcome: paired with a final score, unscored (the call never had one), expired "
        "(no final score within the feedback window), forgotten (dropped early from a full memory).",
        "ratings",
        scope=SELF,
        publisher=SCORER,
    ),
    _c("ai_agent_scorer_queries_total", [], "PromQL queries the scorer sent.", "queries", scope=SELF, publisher=SCORER),
    _c(
        "ai_agent_scorer_query_errors_total",
        ["reason"],
        "PromQL queries that failed (timeout, http, tls, auth, parse).",
        "queries",
        scope=SELF,
        publisher=SCORER,
    ),
    _c(
        "ai_agent_scorer_final_records_dropped_total",
        [],
        "Final call records dropped before their time because the scorer held as many as it may.",
        "records",
        scope=SELF,
        publisher=SCORER,
    ),
    _g("ai_agent_scorer_scored_calls", [], "Calls holding a published score.", "calls", scope=SELF, publisher=SCORER),
)

BY_NAME: dict[str, Metric] = {m.name: m for m in METRICS}
if len(BY_NAME) != len(METRICS):
    raise RuntimeError("duplicate metric name in the catalogue")


def metric(name: str) -> Metric:
    """The catalogue entry for ``name``; raises KeyError for names not in the contract."""
    return BY_NAME[name]


def published_by(publisher: str) -> Iterator[Metric]:
    return (m for m in METRICS if m.publisher == publisher)


def series_names() -> set[str]:
    """Every name that can appear in PromQL for a catalogued metric."""
    return {s for m in METRICS for s in m.series_names}


def per_call(publisher: str = EXPORTER) -> tuple[Metric, ...]:
    return tuple(m for m in METRICS if m.scope == PER_CALL and m.publisher == publisher)
