"""Which voice panels each integration fills: the one source of docs/integrations/coverage.md, of the panels'
no-value text, and of what tests/dashboards/panel_coverage.py expects each integration's end-to-end run to leave
empty.

A voice panel is a panel whose queries read voice metrics: the catalogue's fleet and per-call ``ai_agent_*`` series
and the series recorded from them. Panels that read only the stack's own health (Prometheus, Alertmanager, provider
probes, the exporter's and the scorer's self-metrics) and the Runbook are not voice panels. Panels are keyed by
dashboard uid and panel title. An integration fills every voice panel except the gaps declared for it here, each
with its reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from voice_monitoring.shared import catalogue

PanelKey = tuple[str, str]  # (dashboard uid, panel title)


@dataclass(frozen=True)
class Integration:
    key: str
    name: str  # as the coverage table heads its column
    short: str  # as a panel's no-value text names it
    doc: str  # its integration page, relative to docs/integrations/
    run: str  # the end-to-end test whose Prometheus the coverage is measured on


INTEGRATIONS = (
    Integration(
        "simulator", "Simulator", "the simulator", "../../README.md", "tests/dashboards/test_dashboards_live.py"
    ),
    Integration("livekit", "LiveKit", "LiveKit", "livekit.md", "tests/frameworks/test_livekit.py"),
    Integration("pipecat", "Pipecat", "Pipecat", "pipecat.md", "tests/frameworks/test_pipecat_webrtc.py"),
    Integration("vapi", "Vapi", "Vapi", "vapi.md", "tests/webhooks/test_coverage.py"),
    Integration("retell", "Retell", "Retell", "retell.md", "tests/webhooks/test_coverage.py"),
    Integration(
        "asterisk_ai_voice_agent",
        "Asterisk AI Voice Agent",
        "AVA",
        "asterisk-ai-voice-agent.md",
        "tests/dashboards/test_ava_coverage.py",
    ),
    Integration(
        "livekit_otel",
        "LiveKit (OpenTelemetry)",
        "LiveKit traces",
        "opentelemetry.md",
        "tests/otlp/test_otel_coverage.py",
    ),
    Integration(
        "pipecat_otel",
        "Pipecat (OpenTelemetry)",
        "Pipecat traces",
        "opentelemetry.md",
        "tests/otlp/test_otel_coverage.py",
    ),
)
BY_KEY = {integration.key: integration for integration in INTEGRATIONS}

AUDIO_QUALITY = "voice-audio-quality"
CALL_DETAIL = "voice-call-detail"
CALL_QUALITY = "voice-call-quality"
CONVERSATION_FLOW = "voice-conversation-flow"
COST_TRACKING = "voice-cost-tracking"
OVERVIEW = "voice-system-overview"
PROVIDER_PERFORMANCE = "voice-provider-performance"

# Reasons, short enough for a panel's no-value text; one wording per cause, so a panel names each cause once.
NO_CONNECTION_LOSS = "plays no lost media connection"
ALL_PRICED = "its vendors all have prices"
NO_TRANSPORT = "no transport statistics"
NO_AUDIO = "no audio levels or bytes"
NO_CODEC = "no codec or sample rates"
NO_VAD = "no VAD confidence"
NO_PLAYOUT = "no playout buffer or streaming fallbacks"
NO_BARGE_IN_TIMING = "no barge-in reaction time"
NO_FALSE_INTERRUPTION = "no false interruptions"
NO_INTERRUPTED_TURN = "no per-turn interruption"
NO_STT_TO_TTS = "no STT-to-TTS time"
NO_GATING = "no TTS gating or capture state"
NO_HEALTH = "no worker, breaker or provider health"
NO_REQUESTS = "no provider requests or engine errors"
OWN_COST = "reports carry their own cost"
NO_LIVE_STATE = "no live speech or interruption messages"
SPANS_END_LATE = "a span arrives when it ends: no live conversation state"
NO_STT_LATENCY = "no STT latency in its latency report"
NO_STREAMING_FALLBACK = "no streaming-to-batch fallback"
FRAMEWORK_VAD = "the framework keeps VAD confidence internal"
AIORTC_CONCEALMENT = "SmallWebRTC (aiortc) reports no concealment"
# Panels that show only when something happens which the integration does report, but its run did not play: the
# integration still feeds the panel, and its count leaves the panel out until a run plays it.
CONNECTION_NOT_LOST = "only on a lost connection, none in its run"
UNPRICED_NOT_PLAYED = "only for a vendor with no price, none in its run"
FEEDBACK_NOT_PLAYED = "only for calls rated by feedback, none in its run"
FEW_RATED = "only from the calibration's minimum sample of rated calls"
FAILURE_NOT_PLAYED = "only on a failed call, none in its run"
ERRORS_NOT_PLAYED = "only on a failed request, none in its run"
STT_NOT_PLAYED = "only with an STT service, none in its run"
NOT_PLAYED = {
    CONNECTION_NOT_LOST,
    UNPRICED_NOT_PLAYED,
    FEEDBACK_NOT_PLAYED,
    FEW_RATED,
    FAILURE_NOT_PLAYED,
    ERRORS_NOT_PLAYED,
    STT_NOT_PLAYED,
}


def _gaps(*groups: tuple[str, tuple[PanelKey, ...]]) -> dict[PanelKey, str]:
    return {key: reason for reason, keys in groups for key in keys}


TRANSPORT_PANELS = (
    (AUDIO_QUALITY, "MOS estimate"),
    (AUDIO_QUALITY, "Transport RTT and jitter p95"),
    (AUDIO_QUALITY, "Packet loss p95"),
    (AUDIO_QUALITY, "Concealment p95"),
    (AUDIO_QUALITY, "Transport connection losses"),
    (CALL_DETAIL, "MOS estimate"),
    (CALL_DETAIL, "E-model R"),
    (CALL_DETAIL, "Transport"),
    (CALL_DETAIL, "Packet loss"),
)
AUDIO_PANELS = (
    (AUDIO_QUALITY, "RMS level by stage"),
    (AUDIO_QUALITY, "DC offset by stage"),
    (AUDIO_QUALITY, "Clipping by stage"),
    (AUDIO_QUALITY, "Audio bytes in/out"),
    (CALL_DETAIL, "Agent level spread"),
    (CALL_DETAIL, "Clipping"),
)
CODEC_PANELS = (
    (AUDIO_QUALITY, "Codec alignment"),
    (AUDIO_QUALITY, "Aligned codec checks"),
    (PROVIDER_PERFORMANCE, "Codec alignment"),
    (CALL_DETAIL, "Codec alignment"),
    (CALL_DETAIL, "Call"),
)
VAD_PANELS = ((AUDIO_QUALITY, "VAD confidence distribution"), (AUDIO_QUALITY, "Median VAD confidence"))
PLAYOUT_PANELS = (
    (CALL_QUALITY, "Underflow rate"),
    (CALL_QUALITY, "Streaming fallbacks per turn"),
    (CALL_QUALITY, "Streaming fallbacks"),
    (CALL_QUALITY, "Jitter buffer depth"),
)
BARGE_IN_TIMING_PANELS = ((CALL_QUALITY, "Barge-in reaction"), (CALL_DETAIL, "Barge-in reaction p95"))
FALSE_INTERRUPTION_PANELS = (
    (CONVERSATION_FLOW, "False interruption rate"),
    (CONVERSATION_FLOW, "False interruptions per barge-in"),
)
HEALTH_PANELS = (
    (OVERVIEW, "Worker memory"),
    (OVERVIEW, "Worker CPU"),
    (OVERVIEW, "Calls per worker"),
    (OVERVIEW, "Circuit breakers"),
    (OVERVIEW, "Provider services"),
    (PROVIDER_PERFORMANCE, "Provider up/down"),
)
REQUEST_PANELS = ((PROVIDER_PERFORMANCE, "Failed requests"), (PROVIDER_PERFORMANCE, "Engine errors per turn"))
UNPRICED_PANELS = ((COST_TRACKING, "Usage with no price"),)

CALIBRATION_FIGURES = (
    (CALL_QUALITY, "Does the score agree with callers?"),
    (CALL_QUALITY, "Mean caller rating by quality band"),
)
FEEDBACK_PANELS = CALIBRATION_FIGURES + ((CALL_QUALITY, "Rated calls behind the figures"),)

# What a hosted platform's webhooks (live messages and post-call report) cannot carry.
PLATFORM_GAPS = _gaps(
    (NO_TRANSPORT, TRANSPORT_PANELS),
    (NO_AUDIO, AUDIO_PANELS),
    (NO_CODEC, CODEC_PANELS),
    (NO_VAD, VAD_PANELS),
    (NO_PLAYOUT, PLAYOUT_PANELS),
    (NO_BARGE_IN_TIMING, BARGE_IN_TIMING_PANELS),
    (NO_FALSE_INTERRUPTION, FALSE_INTERRUPTION_PANELS),
    (NO_INTERRUPTED_TURN, ((CONVERSATION_FLOW, "Interrupted turns"),)),
    (NO_STT_TO_TTS, ((CALL_QUALITY, "STT to TTS latency"),)),
    (NO_GATING, ((CONVERSATION_FLOW, "TTS gating and audio capture"),)),
    (NO_HEALTH, HEALTH_PANELS),
    (NO_REQUESTS, REQUEST_PANELS),
    (OWN_COST, UNPRICED_PANELS),
    (FEW_RATED, CALIBRATION_FIGURES),
)

# What a framework's OpenTelemetry traces cannot carry (docs/integrations/opentelemetry.md): spans time the turns and
# the provider requests and carry their usage, nothing of the media, the devices, the worker or the live state.
TRACE_GAPS = _gaps(
    (NO_TRANSPORT, TRANSPORT_PANELS + ((OVERVIEW, "Audio transport mode"),)),
    (NO_AUDIO, AUDIO_PANELS),
    (NO_CODEC, CODEC_PANELS),
    (NO_VAD, VAD_PANELS),
    (NO_PLAYOUT, PLAYOUT_PANELS),
    (NO_BARGE_IN_TIMING, BARGE_IN_TIMING_PANELS),
    (NO_FALSE_INTERRUPTION, FALSE_INTERRUPTION_PANELS),
    (NO_STT_TO_TTS, ((CALL_QUALITY, "STT to TTS latency"),)),
    (NO_GATING, ((CONVERSATION_FLOW, "TTS gating and audio capture"),)),
    (NO_HEALTH, HEALTH_PANELS),
    (
        SPANS_END_LATE,
        ((CONVERSATION_FLOW, "Conversation state timeline"), (CONVERSATION_FLOW, "Calls by conversation state")),
    ),
    (FAILURE_NOT_PLAYED, ((OVERVIEW, "Call failure ratio"), (PROVIDER_PERFORMANCE, "Call failure ratio"))),
    (UNPRICED_NOT_PLAYED, UNPRICED_PANELS),
    (FEEDBACK_NOT_PLAYED, FEEDBACK_PANELS),
)

# {integration: {(dashboard uid, panel title): why that integration cannot fill it}}
GAPS: dict[str, dict[PanelKey, str]] = {
    "simulator": _gaps(
        (NO_CONNECTION_LOSS, ((AUDIO_QUALITY, "Transport connection losses"),)),
        (ALL_PRICED, UNPRICED_PANELS),
        (FEEDBACK_NOT_PLAYED, FEEDBACK_PANELS),
    ),
    "livekit": _gaps(
        (NO_STREAMING_FALLBACK, PLAYOUT_PANELS[1:3]),
        (FRAMEWORK_VAD, VAD_PANELS),
        (FEEDBACK_NOT_PLAYED, FEEDBACK_PANELS),
    ),
    "pipecat": _gaps(
        (FEEDBACK_NOT_PLAYED, FEEDBACK_PANELS),
        (NO_STREAMING_FALLBACK, PLAYOUT_PANELS[1:3]),
        (FRAMEWORK_VAD, VAD_PANELS),
        (AIORTC_CONCEALMENT, ((AUDIO_QUALITY, "Concealment p95"),)),
        (NO_GATING, ((CONVERSATION_FLOW, "TTS gating and audio capture"),)),
        (CONNECTION_NOT_LOST, ((AUDIO_QUALITY, "Transport connection losses"),)),
        (UNPRICED_NOT_PLAYED, UNPRICED_PANELS),
    ),
    "vapi": PLATFORM_GAPS,
    "retell": {
        **PLATFORM_GAPS,
        **_gaps(
            (
                NO_LIVE_STATE,
                (
                    (CONVERSATION_FLOW, "Conversation state timeline"),
                    (CONVERSATION_FLOW, "Calls by conversation state"),
                    (CONVERSATION_FLOW, "Barge-in rate"),
                ),
            ),
            (NO_STT_LATENCY, ((PROVIDER_PERFORMANCE, "STT latency"),)),
        ),
    },
    "livekit_otel": TRACE_GAPS,
    "pipecat_otel": {
        **TRACE_GAPS,
        **_gaps(
            (STT_NOT_PLAYED, ((PROVIDER_PERFORMANCE, "STT latency"),)),
            (ERRORS_NOT_PLAYED, REQUEST_PANELS),
        ),
    },
}

# The panels the Asterisk AI Voice Agent's own metrics fill (docs/integrations/asterisk-ai-voice-agent.md).
AVA_FILLS = (
    (OVERVIEW, "Turn response p95"),
    (CALL_QUALITY, "Turn response latency"),
    (CALL_QUALITY, "STT to TTS latency"),
    (CALL_QUALITY, "Barge-in reaction"),
    (CALL_QUALITY, "Underflow rate"),
    (CALL_QUALITY, "Streaming fallbacks"),
    (PROVIDER_PERFORMANCE, "Turn response p95 by provider"),
    (AUDIO_QUALITY, "RMS level by stage"),
    (AUDIO_QUALITY, "DC offset by stage"),
    (AUDIO_QUALITY, "VAD confidence distribution"),
    (AUDIO_QUALITY, "Median VAD confidence"),
    (CONVERSATION_FLOW, "Conversation state timeline"),
    (CONVERSATION_FLOW, "Calls by conversation state"),
    (CONVERSATION_FLOW, "TTS gating and audio capture"),
    (CONVERSATION_FLOW, "Barge-in rate"),
    (CONVERSATION_FLOW, "Call duration"),
)
# Integrations that fill only the panels listed: every other voice panel is a gap, for the reason _not_listed gives.
FILLS_ONLY: dict[str, tuple[PanelKey, ...]] = {"asterisk_ai_voice_agent": AVA_FILLS}
NO_CALL_ID = "no call_id, so no per-call series or scores"
NOT_PUBLISHED = "not among its own metrics"

# The stack's own health: series of the publishing service itself, never of a call.
_SELF_METRICS = tuple(m.name for m in catalogue.METRICS if m.scope == catalogue.SELF)
# A metric name in PromQL, alone or as the middle of a recorded level:metric:operations name.
_AI_AGENT_NAME = re.compile(r"(?<![\w:])(?:\w+:)?(ai_agent_\w+)")


def reads_voice_metrics(expr: str) -> bool:
    """Whether a query reads a voice metric: an ``ai_agent_*`` series, or one recorded from it, that is not a
    self-metric of the exporter or the scorer."""
    return any(not name.startswith(_SELF_METRICS) for name in _AI_AGENT_NAME.findall(expr))


def _walk(panels: list[dict]) -> Iterator[dict]:
    for panel in panels:
        yield panel
        yield from _walk(panel.get("panels", []))


def voice_panels(boards: dict[str, dict]) -> dict[PanelKey, dict]:
    """{(uid, title): panel} of every voice panel of the built dashboards ({uid: dashboard JSON}), in board order."""
    found = {}
    for uid, board in boards.items():
        for panel in _walk(board["panels"]):
            if any(reads_voice_metrics(target.get("expr", "")) for target in panel.get("targets", [])):
                found[(uid, panel["title"])] = panel
    return found


# Metrics a call's per-call series or its scores make: what an engine whose series carry no call_id never has.
_PER_CALL_METRICS = {
    name
    for m in catalogue.METRICS
    if m.scope == catalogue.PER_CALL or (m.publisher == catalogue.SCORER and m.scope != catalogue.SELF)
    for name in (m.name, *m.series_names)
}


def _not_listed(panel: dict) -> str:
    names = {name for target in panel.get("targets", []) for name in _AI_AGENT_NAME.findall(target.get("expr", ""))}
    return NO_CALL_ID if names & _PER_CALL_METRICS else NOT_PUBLISHED


def gap_reason(integration: str, key: PanelKey, panel: dict) -> str | None:
    """Why ``integration`` cannot fill the voice panel ``panel`` (keyed ``key``); None when it fills it."""
    if integration in FILLS_ONLY:
        return None if key in FILLS_ONLY[integration] else _not_listed(panel)
    return GAPS[integration].get(key)


def gaps(integration: str) -> dict[PanelKey, str]:
    """The voice panels of the dashboards ``integration`` cannot fill, each with its reason."""
    from grafana.builder.catalog import build_all  # the dashboards are built with this module's no-value texts

    found = {key: gap_reason(BY_KEY[integration].key, key, panel) for key, panel in voice_panels(build_all()).items()}
    return {key: reason for key, reason in found.items() if reason is not None}


def _names(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def no_value_text(key: PanelKey, panel: dict) -> str | None:
    """A voice panel's text when it has no data: the integrations that feed it, and why the others cannot; None
    for a panel every integration fills."""
    missing: dict[str, list[str]] = {}
    fed_by = []
    for integration in INTEGRATIONS:
        reason = gap_reason(integration.key, key, panel)
        if reason is None or reason in NOT_PLAYED:
            fed_by.append(integration.short)
        else:
            missing.setdefault(reason, []).append(integration.short)
    if not missing:
        return None
    not_by = "; ".join(f"{_names(names)}: {reason}" for reason, names in missing.items())
    return f"No data. Fed by {_names(fed_by)}; not by {not_by}" if fed_by else f"No data: {not_by}"


def with_no_value(uid: str, board: dict) -> dict:
    """``board`` with the no-value text of each of its panels some integration cannot fill."""
    for key, panel in voice_panels({uid: board}).items():
        text = no_value_text(key, panel)
        if text is not None:
            panel.setdefault("fieldConfig", {}).setdefault("defaults", {})["noValue"] = text
    return board
