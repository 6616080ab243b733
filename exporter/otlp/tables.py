"""The mapping tables: which span of which voice framework becomes which event.

One table per framework, keyed by the instrumentation scope its spans carry.  A row names a span and the events
it gives; each event attribute comes from a span attribute (the first present of the names listed: newer names
first, so one row covers the renames across the versions in the table's range), a key of a JSON attribute, the
span's duration, or a constant.  An event whose required attributes are missing is not made.  Service spans
(stt, llm, tts) also give their vendor and model, through the same normalisation the in-process adapters use
(``voice_monitoring.client.vendors``), and an ``error`` event when the span's status is ERROR.

The trace is the call (its id is the call id).  The table's session span (LiveKit's ``agent_session``, Pipecat's
``conversation``) ends the call: ``call.ended`` with the span's duration.  Spans a table has no row for, and
spans of scopes no table knows, give nothing and are counted by scope.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import orjson

from voice_monitoring.client.vendors import PIPECAT_VENDORS, livekit_vendor, pipecat_service

Attributes = Mapping[str, object]


class Source:
    def value(self, attrs: Attributes, span_seconds: float) -> object:
        raise NotImplementedError


@dataclass(frozen=True)
class Attr(Source):
    """The first of these span attributes present: the current name first, then older ones."""

    names: tuple[str, ...]

    def __init__(self, *names: str):
        object.__setattr__(self, "names", names)

    def value(self, attrs: Attributes, span_seconds: float) -> object:
        for name in self.names:
            value = attrs.get(name)
            if value is not None:
                return value
        return None


@dataclass(frozen=True)
class Json(Source):
    """A key (dotted path) of a JSON object the span carries as a string attribute."""

    attr: str
    path: str

    def value(self, attrs: Attributes, span_seconds: float) -> object:
        raw = attrs.get(self.attr)
        if not isinstance(raw, str):
            return None
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
        for key in self.path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        return value


@dataclass(frozen=True)
class Const(Source):
    constant: object

    def value(self, attrs: Attributes, span_seconds: float) -> object:
        return self.constant


@dataclass(frozen=True)
class Duration(Source):
    """The span's own duration in seconds."""

    def value(self, attrs: Attributes, span_seconds: float) -> object:
        return span_seconds


@dataclass(frozen=True)
class Positive(Source):
    """A quantity worth reporting: a finite number above 0 (usage of nothing is no usage)."""

    source: Source

    def value(self, attrs: Attributes, span_seconds: float) -> object:
        value = self.source.value(attrs, span_seconds)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
            return None
        return value


@dataclass(frozen=True)
class Unless(Source):
    """``source``, but false when ``condition`` is true."""

    source: Source
    condition: Source

    def value(self, attrs: Attributes, span_seconds: float) -> object:
        if self.condition.value(attrs, span_seconds) is True:
            return False
        return self.source.value(attrs, span_seconds)


@dataclass(frozen=True)
class Emit:
    """One event a span gives.  ``slot`` names it within the span: the event id is the trace, span and slot, so a
    retried batch gives the same ids.  ``when``, if given, must be true for the event to be made."""

    type: str
    slot: str
    attrs: dict[str, Source]
    required: tuple[str, ...] = ()
    when: Source | None = None


@dataclass(frozen=True)
class Row:
    emits: tuple[Emit, ...]
    service: str | None = None  # stt / llm / tts: the span's vendor and model go on its events, errors too


@dataclass(frozen=True)
class SessionEnd:
    """The span whose end ends the call, and how its end reason is read: from ``reason`` on ``reason_span`` (a
    span of the same trace in the same request), else on the session span itself, else ``default``."""

    span: str
    reason: Source
    reasons: dict[str, str] = field(default_factory=dict)  # the framework's reason -> the schema's end_reason
    default: str = "ended"
    reason_span: str | None = None


@dataclass(frozen=True)
class Table:
    framework: str
    versions: str
    scopes: tuple[str, ...]
    rows: dict[str, Row]
    session: SessionEnd
    vendor: Callable[[str, Attributes], tuple[str | None, str | None]]


def _latency(component: str, seconds: Source, service: str | None = None) -> Emit:
    attrs = {"component": Const(component), "seconds": seconds}
    if service:
        attrs["service"] = Const(service)
    return Emit("latency", component, attrs, required=("seconds",))


def _usage(service: str, unit: str, quantity: Source) -> Emit:
    attrs = {"service": Const(service), "unit": Const(unit), "quantity": Positive(quantity)}
    return Emit("usage", unit, attrs, required=("quantity",))


# gen_ai.provider.name as the OpenTelemetry GenAI registry spells it (LiveKit 1.8 and Pipecat write these) -> the
# word the framework vendors' normalisation knows.  Other values are a framework's own provider string.
GEN_AI_PROVIDERS = {
    "aws.bedrock": "aws bedrock",
    "azure.ai.inference": "azure",
    "azure.ai.openai": "azure",
    "gcp.gemini": "gemini",
    "gcp.gen_ai": "google",
    "gcp.vertex_ai": "vertex ai",
    "ibm.watsonx.ai": "ibm",
    "mistral_ai": "mistralai",
    "moonshot_ai": "moonshot",
    "x_ai": "x",
}


def livekit_span_vendor(service: str, attrs: Attributes) -> tuple[str | None, str | None]:
    metrics = "lk.tts_metrics" if service == "tts" else "lk.llm_metrics"
    provider = Attr("gen_ai.provider.name").value(attrs, 0) or Json(metrics, "metadata.model_provider").value(attrs, 0)
    model = Attr("gen_ai.request.model").value(attrs, 0) or Json(metrics, "metadata.model_name").value(attrs, 0)
    return _livekit_vendor(provider if isinstance(provider, str) else None, model if isinstance(model, str) else None)


# Memoised: a deployment names a handful of providers and models, and every service span asks.
@lru_cache(maxsize=4096)
def _livekit_vendor(provider: str | None, model: str | None) -> tuple[str | None, str | None]:
    return livekit_vendor(GEN_AI_PROVIDERS.get(provider, provider) if provider else None, model)


# Pipecat names a service span's provider by its class name without the service kind, lower-cased
# ("CartesiaHttpTTSService" -> "cartesiahttp"): the vendor word is found again by its lower-case spelling.
_PIPECAT_WORDS = sorted(PIPECAT_VENDORS, key=len, reverse=True)
_KIND = {"stt": "STT", "llm": "LLM", "tts": "TTS"}


def pipecat_span_vendor(service: str, attrs: Attributes) -> tuple[str | None, str | None]:
    provider = Attr("gen_ai.provider.name", "gen_ai.system").value(attrs, 0)
    model = Attr("gen_ai.request.model").value(attrs, 0)
    model = model if isinstance(model, str) and model not in ("", "unknown") else None
    if not isinstance(provider, str) or not provider:
        return None, model
    return _pipecat_vendor(service, provider), model


@lru_cache(maxsize=4096)
def _pipecat_vendor(service: str, provider: str) -> str | None:
    registry = GEN_AI_PROVIDERS.get(provider)
    if registry is not None:
        return livekit_vendor(registry, None)[0]
    lowered = provider.replace(".", "").lower()
    word = next((w for w in _PIPECAT_WORDS if lowered.startswith(w.lower())), None)
    if word is None:
        return livekit_vendor(provider, None)[0]
    rest = provider[len(word) :]
    return pipecat_service(f"{word}{rest[:1].upper()}{rest[1:]}{_KIND[service]}Service")[1]


LIVEKIT = Table(
    framework="LiveKit Agents",
    versions="1.5 to 1.8",
    scopes=("livekit-agents",),
    rows={
        # lk.e2e_latency is set from 1.8 on (with the user turn's stages copied onto it); before, no turn latency
        "agent_turn": Row(
            (
                Emit(
                    "turn",
                    "turn",
                    {
                        "latency_seconds": Attr("lk.e2e_latency"),
                        "endpointing_seconds": Attr("lk.end_of_turn_delay"),
                        "interrupted": Attr("lk.interrupted"),
                    },
                    required=("latency_seconds",),
                ),
                Emit("interruption", "barge_in", {"kind": Const("barge_in")}, when=Attr("lk.interrupted")),
            )
        ),
        "user_turn": Row((_latency("stt", Attr("lk.transcription_delay")),), service="stt"),
        "llm_node": Row((_latency("llm_ttft", Attr("lk.response.ttft")),), service="llm"),
        "llm_request": Row(
            (
                _usage("llm", "tokens_in", Attr("gen_ai.usage.input_tokens")),
                _usage("llm", "tokens_out", Attr("gen_ai.usage.output_tokens")),
            ),
            service="llm",
        ),
        "tts_node": Row((_latency("tts_ttfb", Attr("lk.response.ttfb")),), service="tts"),
        "tts_request": Row((_usage("tts", "characters", Json("lk.tts_metrics", "characters_count")),), service="tts"),
    },
    # lk.close_reason (on session_close, which ends just before agent_session) from 1.8 on; before, "other"
    session=SessionEnd(
        "agent_session",
        Attr("lk.close_reason"),
        {
            "participant_disconnected": "user_hangup",
            "user_initiated": "agent_hangup",
            "task_completed": "agent_hangup",
            "job_shutdown": "other",
            "error": "error",
        },
        default="session_closed",
        reason_span="session_close",
    ),
    vendor=livekit_span_vendor,
)

PIPECAT = Table(
    framework="Pipecat",
    versions="1.14",
    scopes=("pipecat", "pipecat.turn"),
    rows={
        "turn": Row(
            (
                Emit(
                    "turn",
                    "turn",
                    {
                        "latency_seconds": Attr("turn.user_bot_latency_seconds"),
                        # a turn cut short by the call's end is marked interrupted too: that is no barge-in
                        "interrupted": Unless(Attr("turn.was_interrupted"), Attr("turn.ended_by_conversation_end")),
                    },
                    required=("latency_seconds",),
                ),
                Emit(
                    "interruption",
                    "barge_in",
                    {"kind": Const("barge_in")},
                    when=Unless(Attr("turn.was_interrupted"), Attr("turn.ended_by_conversation_end")),
                ),
            )
        ),
        "stt": Row(
            (_latency("stt", Attr("metrics.ttfb")), _usage("stt", "audio_seconds", Attr("metrics.audio_seconds"))),
            service="stt",
        ),
        "llm": Row(
            (
                _latency("llm_ttft", Attr("metrics.ttfb")),
                _usage("llm", "tokens_in", Attr("gen_ai.usage.input_tokens")),
                _usage("llm", "tokens_out", Attr("gen_ai.usage.output_tokens")),
            ),
            service="llm",
        ),
        "tts": Row(
            (
                _latency("tts_ttfb", Attr("metrics.ttfb")),
                _usage("tts", "characters", Attr("metrics.character_count")),
            ),
            service="tts",
        ),
    },
    session=SessionEnd("conversation", Const(None), default="conversation_ended"),
    vendor=pipecat_span_vendor,
)

TABLES = (LIVEKIT, PIPECAT)
BY_SCOPE = {scope: table for table in TABLES for scope in table.scopes}

# Resource attributes that give a call's labels (the pipeline falls back to service.name).
TENANT_ATTRIBUTE = "voice.tenant"
AGENT_ATTRIBUTE = "voice.agent"
AGENT_VERSION_ATTRIBUTE = "voice.agent_version"
PIPELINE_ATTRIBUTE = "voice.pipeline"
