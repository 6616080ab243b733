"""Event schema v1: the envelope, each type's attributes, validation, and the JSON Schema.

The spec tables below are the single source: ``validate`` checks events with
them on the ingest path, ``decode_checked`` checks and decodes a whole JSON body with
them compiled to msgspec types, and ``json_schema`` renders the published
``exporter/schema/events-v1.schema.json`` from them.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

import msgspec

from voice_monitoring.shared.feedback import SCALES, SOURCES

SCHEMA_VERSION = "v1"
SCHEMA_ID = "https://voice-monitoring.local/schema/events-v1.schema.json"
MAX_LABEL_LENGTH = 128
_FLOAT_MAX = 1.7976931348623157e308  # a number field without a bound of its own is finite

END_REASONS = ("user_hangup", "agent_hangup", "transfer", "timeout", "error", "other")
COMPONENTS = ("stt", "llm_ttft", "tts_ttfb", "endpointing", "network", "knowledge_base", "s2s")
SERVICES = ("stt", "llm", "tts", "transport", "platform")
USAGE_UNITS = ("tokens_in", "tokens_out", "characters", "audio_seconds", "minutes", "tokens_in_cached")
AUDIO_STAGES = ("caller_in", "stt_in", "tts_out", "agent_out")
CONVERSATION_STATES = ("greeting", "listening", "processing", "speaking")
BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}
REQUEST_STATUSES = ("ok", "error", "timeout")
TRANSPORTS = ("audiosocket", "external_media", "webrtc", "sip")
SENTIMENTS = ("positive", "negative", "neutral", "unknown")
DIRECTIONS = {"rx": "received", "tx": "sent"}  # audio byte directions: label value -> verb


# A field's checker: an error message for a value, or None when it is valid.
Event = dict[str, Any]  # a validated event: its envelope, ``attrs`` among its fields
Attrs = dict[str, Any]  # an event's ``attrs``
Checker = Callable[[Any], str | None]


@dataclass(frozen=True)
class Field:
    kind: str  # number | integer | boolean | string | enum
    description: str
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    @functools.cached_property
    def check(self) -> Checker:
        """A function returning an error message for a value, or None when it is valid.

        Built once per field: validation runs for every event on the ingest path.
        """
        kind, low, high = self.kind, self.minimum, self.maximum
        if kind in ("number", "integer"):
            integer = kind == "integer"

            def check_number(value: Any) -> str | None:
                t = type(value)
                if t is float:
                    if integer and not value.is_integer():
                        return "must be an integer"
                    if value != value or value in (math.inf, -math.inf):
                        return "must be finite"
                elif t is not int:
                    return f"must be a {kind}"
                if low is not None and value < low:
                    return f"must be >= {low:g}"
                if high is not None and value > high:
                    return f"must be <= {high:g}"
                return None

            return check_number
        if kind == "boolean":
            return lambda value: None if value is True or value is False else "must be true or false"
        if kind == "enum":
            choices = frozenset(self.choices)
            message = f"must be one of {', '.join(self.choices)}"
            return lambda value: None if type(value) is str and value in choices else message

        def check_string(value: Any) -> str | None:
            if type(value) is not str or not value:
                return "must be a non-empty string"
            if len(value) > MAX_LABEL_LENGTH:
                return f"must be at most {MAX_LABEL_LENGTH} characters"
            return None

        return check_string

    @property
    def bounds(self) -> tuple[float, float]:
        """A number field's lowest and highest value; finite where the field names none."""
        low = -_FLOAT_MAX if self.minimum is None else self.minimum
        high = _FLOAT_MAX if self.maximum is None else self.maximum
        return low, high

    def json_schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"description": self.description}
        if self.kind == "enum":
            out["enum"] = list(self.choices)
        elif self.kind == "string":
            out.update(type="string", minLength=1, maxLength=MAX_LABEL_LENGTH)
        else:
            out["type"] = self.kind
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        return out


def _seconds(description: str, required: bool = False, maximum: float = 3600.0) -> Field:
    return Field("number", description + " (seconds)", required, minimum=0.0, maximum=maximum)


def _ratio(description: str, required: bool = False) -> Field:
    return Field("number", description + " (0 to 1)", required, minimum=0.0, maximum=1.0)


def _count(description: str) -> Field:
    return Field("integer", description, minimum=0, maximum=1_000_000)


ENVELOPE: dict[str, Field] = {
    "type": Field("enum", "Event type.", True),  # choices filled in below
    "ts": Field("number", "When the event happened (Unix epoch seconds).", True, minimum=0),
    "call_id": Field("string", "The call this event belongs to."),
    "tenant": Field("string", "Customer the call belongs to; inherited from call.started when omitted."),
    "provider": Field("string", "Provider (vendor) the event is about; inherited from call.started when omitted."),
    "model": Field("string", "Model used, when relevant."),
    "pipeline": Field("string", "Pipeline name; inherited from call.started when omitted."),
    "agent": Field(
        "string", "Agent (assistant) that handles the call; taken from call.started, or the first event of the call."
    ),
    "agent_version": Field(
        "string", "Version of the agent that handles the call; taken with agent, from call.started or the first event."
    ),
    "component": Field("string", "Engine component the event comes from."),
    "id": Field(
        "string",
        "Event id: an event whose id was already accepted is ignored, for as long as the event could be accepted.",
    ),
}

# Types whose events must carry call_id.
CALL_SCOPED = frozenset({"call.started", "call.ended", "turn", "interruption", "state", "feedback"})

TYPES: dict[str, dict[str, Field]] = {
    "call.started": {
        "transport": Field("enum", "Audio transport mode.", choices=TRANSPORTS),
        "codec": Field("string", "Media codec (pcmu, pcma, g722, opus, ...)."),
    },
    "call.ended": {
        "duration_seconds": _seconds("Call duration", True, maximum=86400.0),
        "reason": Field("string", "Raw end reason as the engine reports it.", True),
        "end_reason": Field(
            "enum", "Normalised end reason when the sender maps it; derived from reason otherwise.", choices=END_REASONS
        ),
        "turn_p95_seconds": _seconds("p95 of the call's end-to-end turn latency as the platform computed it"),
    },
    "turn": {
        "latency_seconds": _seconds("End-to-end turn latency: user stops speaking to agent starts", True),
        "stt_seconds": _seconds("Speech-to-text latency"),
        "llm_ttft_seconds": _seconds("LLM time to first token"),
        "tts_ttfb_seconds": _seconds("TTS time to first byte"),
        "endpointing_seconds": _seconds("Endpointing delay"),
        "stt_to_tts_seconds": _seconds("Final transcript to first TTS byte"),
        "agent_speech_seconds": _seconds("How long the agent spoke in this turn"),
        "interrupted": Field("boolean", "Whether the caller interrupted the agent in this turn."),
    },
    "latency": {
        "component": Field("enum", "Measured component.", True, choices=COMPONENTS),
        "seconds": _seconds("Measured latency", True),
        "service": Field("enum", "Service the request went to.", choices=SERVICES),
        "status": Field("enum", "Outcome of the request.", choices=REQUEST_STATUSES),
    },
    "usage": {
        "service": Field("enum", "Billed service.", True, choices=SERVICES),
        "unit": Field("enum", "Unit of the quantity.", True, choices=USAGE_UNITS),
        "quantity": Field("number", "Quantity used.", True, minimum=0, maximum=1e9),
    },
    "cost": {
        "service": Field("enum", "Billed service.", True, choices=SERVICES),
        "usd": Field("number", "Cost in US dollars.", True, minimum=0, maximum=1e4),
    },
    "audio": {
        "stage": Field("enum", "Where in the audio path the measurement was taken.", choices=AUDIO_STAGES),
        "underflow": _count("Playback underflows since the last audio event."),
        "fallback": _count("Streaming fallbacks since the last audio event."),
        "jitter_buffer_depth": Field("number", "Jitter buffer depth (frames).", minimum=0, maximum=10_000),
        "codec_alignment": Field("boolean", "Whether provider and call codec/sample rate match."),
        "rms": _ratio("RMS level, full scale 1"),
        "dc_offset": Field("number", "DC offset, full scale 1 (-1 to 1).", minimum=-1.0, maximum=1.0),
        "clipping_ratio": _ratio("Share of samples at full scale since the last report"),
        "vad_confidence": _ratio("Voice activity detection confidence"),
    },
    "transport": {
        "rtt_seconds": _seconds("Round-trip time", maximum=10.0),
        "jitter_seconds": _seconds("Interarrival jitter", maximum=10.0),
        "packet_loss_ratio": _ratio("Packet loss"),
        "burst_ratio": Field("number", "Packet loss burstiness (1 random, >1 bursty).", minimum=1.0, maximum=100.0),
        "concealment_ratio": _ratio("Concealed samples over samples received since the last report"),
        "codec": Field("string", "Media codec (pcmu, pcma, g722, opus, ...)."),
        **{
            f"bytes_{direction}": Field(
                "integer", f"Audio bytes {verb} since the last report.", minimum=0, maximum=1e12
            )
            for direction, verb in DIRECTIONS.items()
        },
        "connection_lost": Field("boolean", "The media connection dropped."),
    },
    "interruption": {
        "kind": Field("enum", "What happened.", True, choices=("barge_in", "false_interruption")),
        "reaction_seconds": _seconds("Barge-in reaction: caller starts speaking to agent audio stopping", maximum=60.0),
    },
    "state": {
        "state": Field("enum", "Conversation state.", choices=CONVERSATION_STATES),
        "tts_gating": Field("boolean", "Whether the caller's audio is gated while the agent speaks."),
        "audio_capture": Field("boolean", "Whether caller audio capture is enabled."),
    },
    "analysis": {
        "successful": Field("boolean", "Whether the call reached its goal, as the platform's analysis judged."),
        "sentiment": Field("enum", "The caller's sentiment, as the platform's analysis judged.", choices=SENTIMENTS),
    },
    "feedback": {
        "scale": Field("enum", "The scale the rating is on.", True, choices=tuple(SCALES)),
        "rating": Field(
            "integer",
            "The rating, a whole number within its scale: stars and csat 1-5, thumbs 0-1, nps 0-10, sentiment 0-2.",
            True,
            minimum=0,
            maximum=10,
        ),
        "source": Field("enum", "Who gave the rating.", True, choices=SOURCES),
    },
    "health": {
        "worker": Field("string", "Worker name."),
        "memory_ratio": _ratio("Worker memory use of its limit"),
        "cpu_ratio": Field("number", "Worker CPU use of its allowance (may exceed 1 briefly).", minimum=0, maximum=64),
        "active_calls": _count("Calls the worker handles."),
        "breaker": Field("string", "Circuit breaker name."),
        "breaker_state": Field("enum", "Circuit breaker state.", choices=tuple(BREAKER_STATES)),
        "service": Field("enum", "Service whose provider reachability is reported.", choices=SERVICES),
        "up": Field("boolean", "Whether the provider's service is reachable."),
    },
    "error": {
        "component": Field("string", "Component that failed (stt, llm, tts, transport, ...).", True),
        "kind": Field("string", "Kind of error (timeout, rate_limited, http_5xx, ...).", True),
        "service": Field(
            "enum", "Service the failed request went to, when it was a provider request.", choices=SERVICES
        ),
    },
}

# Attributes that only make sense together: the first of a group is required by each of the others.
# The validator and the JSON Schema (dependentRequired) both read this table.
TOGETHER: dict[str, tuple[tuple[str, ...], ...]] = {
    "health": (
        ("worker", "memory_ratio", "cpu_ratio", "active_calls"),
        ("breaker", "breaker_state"),
        ("service", "up"),
    ),
}
# An attribute whose range depends on another's value: type -> (the attribute, the one it depends on,
# {value: (lowest, highest)}).  The validator and the JSON Schema both read this table.
RANGE_BY: dict[str, tuple[str, str, dict[str, tuple[int, int]]]] = {
    "feedback": ("rating", "scale", {name: (s.lowest, s.highest) for name, s in SCALES.items()}),
}
# Types whose events must report something in attrs, and what they are told when they do not.
NOT_EMPTY: dict[str, str] = {"health": "a health event reports a worker, a breaker or a provider"}

ENVELOPE["type"] = Field("enum", "Event type.", True, choices=tuple(TYPES))

# Normalizing raw end reasons into the six buckets of the metric label.
_REASON_WORDS = (
    ("user_hangup", ("user", "caller", "customer", "hangup_user", "remote")),
    ("agent_hangup", ("agent", "bot", "assistant", "local", "completed")),
    ("transfer", ("transfer", "handoff", "escalat", "forward")),
    ("timeout", ("timeout", "timed_out", "time_out", "silence", "idle", "no_input")),
    ("error", ("error", "fail", "exception", "crash", "5xx", "fault")),
)


def normalize_reason(raw: str) -> str:
    text = raw.strip().lower().replace("-", "_").replace(" ", "_")
    if text in END_REASONS:
        return text
    for reason, words in _REASON_WORDS:
        if any(w in text for w in words):
            return reason
    return "other"


class InvalidEvent(ValueError):
    """An event the exporter cannot apply; ``reason`` is a short label value, ``str()`` the detail."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


class Unparsable:
    """A piece of a request that is not JSON (an NDJSON line); validate() rejects it as malformed_json."""

    __slots__ = ("error",)

    def __init__(self, error: str):
        self.error = error


_ENVELOPE_CHECKS = {key: field.check for key, field in ENVELOPE.items()}
# type -> (attribute checks, required attributes, whether call_id is required)
_TYPE_CHECKS = {
    etype: (
        {key: field.check for key, field in spec.items()},
        tuple(key for key, field in spec.items() if field.required),
        etype in CALL_SCOPED,
    )
    for etype, spec in TYPES.items()
}
_TYPE_NAMES = ", ".join(TYPES)
# What a value needs to pass without its field's checker (see _fast_checks).
FastCheck = tuple[Any, ...] | frozenset[str]
_STRING = ("string",)
_BOOLEAN = ("boolean",)


def _fast_checks(spec: dict[str, Field]) -> dict[str, FastCheck]:
    """Per field, what a value needs to be valid without calling its checker: _STRING for a string field
    (a non-empty str within the length limit), _BOOLEAN for a boolean, the frozenset of choices for an enum
    (a str among them), (low, high, integer) for a number field (in range; an integer field takes only ints).
    A value outside the fast path goes to the field's checker, which words the error.
    """
    fast: dict[str, FastCheck] = {}
    for key, field in spec.items():
        if field.kind == "string":
            fast[key] = _STRING
        elif field.kind == "boolean":
            fast[key] = _BOOLEAN
        elif field.kind == "enum":
            fast[key] = frozenset(field.choices)
        elif field.kind in ("number", "integer"):
            fast[key] = (*field.bounds, field.kind == "integer")
    return fast


_ANY = ("any",)
_ENVELOPE_FAST = {**_fast_checks(ENVELOPE), "attrs": _ANY}  # attrs is checked on its own
_TYPE_FAST = {etype: _fast_checks(spec) for etype, spec in TYPES.items()}


def _first_invalid(
    values: dict[str, Any], fast_checks: dict[str, FastCheck], checks: dict[str, Checker]
) -> tuple[str, str | None] | None:
    """The first key of ``values`` that is unknown (key, None) or whose value is invalid (key, problem); None
    when all are valid.  The common valid value is checked inline (see _fast_checks), the rest by the field's
    checker, which words the problem."""
    for key, value in values.items():
        fast = fast_checks.get(key)
        if fast is None:
            return key, None
        t = type(value)
        if fast is _STRING:
            if t is str and 0 < len(value) <= MAX_LABEL_LENGTH:
                continue
        elif fast is _BOOLEAN:
            if value is True or value is False:
                continue
        elif fast is _ANY:
            continue
        elif isinstance(fast, frozenset):
            if t is str and value in fast:
                continue
        elif (t is int or (t is float and not fast[2])) and fast[0] <= value <= fast[1]:
            continue
        problem = checks[key](value)
        if problem:
            return key, problem
    return None


# The spec compiled to msgspec types, for whole JSON bodies: each field's type admits exactly what its checker
# passes (an integer field's float of whole value excepted, left to the checker), so an event msgspec decodes
# is one whose every field the checks above would pass.  What msgspec cannot check is left to ``validate``:
# the time window, and the rules across fields of the types below.
ACROSS_FIELDS = frozenset(TOGETHER) | frozenset(RANGE_BY) | frozenset(NOT_EMPTY)


def _struct_type(field: Field) -> Any:
    if field.kind == "number":
        low, high = field.bounds
        return Annotated[float, msgspec.Meta(ge=low, le=high)]  # the bounds refuse NaN and infinities too
    if field.kind == "integer":
        low_int = None if field.minimum is None else math.ceil(field.minimum)
        high_int = None if field.maximum is None else math.floor(field.maximum)
        return Annotated[int, msgspec.Meta(ge=low_int, le=high_int)]
    if field.kind == "boolean":
        return bool
    if field.kind == "enum":
        return Literal.__getitem__(field.choices)
    return Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_LABEL_LENGTH)]


def _struct_fields(spec: dict[str, Field], required: frozenset[str] = frozenset()) -> list[tuple[Any, ...]]:
    return [
        (key, _struct_type(field)) if field.required or key in required else (key, _struct_type(field), msgspec.UNSET)
        for key, field in spec.items()
    ]


def _event_struct(etype: str, spec: dict[str, Field]) -> type[msgspec.Struct]:
    # gc=False: a struct holds only strings, numbers and its attrs struct, so it is never part of a cycle; left
    # untracked, the many a body decodes to do not set off the collector
    strict: dict[str, Any] = {"kw_only": True, "forbid_unknown_fields": True, "gc": False}
    attrs = msgspec.defstruct(f"{etype}.attrs", _struct_fields(spec), **strict)
    required = frozenset({"call_id"} if etype in CALL_SCOPED else ())
    envelope = _struct_fields({k: f for k, f in ENVELOPE.items() if k != "type"}, required)
    envelope.append(("attrs", attrs) if any(f.required for f in spec.values()) else ("attrs", attrs, msgspec.UNSET))
    return msgspec.defstruct(etype, envelope, tag=etype, tag_field="type", **strict)


_EVENT_STRUCT: Any = Union.__getitem__(tuple(_event_struct(etype, spec) for etype, spec in TYPES.items()))
_DECODE_EVENT = msgspec.json.Decoder(_EVENT_STRUCT).decode
_DECODE_EVENTS = msgspec.json.Decoder(list[_EVENT_STRUCT]).decode


def decode_checked(body: bytes, is_array: bool) -> list[dict[str, Any]] | None:
    """The events of a JSON body (an array of events, or one) whose every event has a known type, fields that each
    pass their check and every field its type requires; None for any other body.

    msgspec checks the body as it decodes it, in C, and the events come out as dictionaries of the fields the body
    gives (a number field's value as a float), so the body is decoded once.  Events of such a body need only
    ``validate(..., fields_checked=True)``; a body that fails is parsed again and checked event by event, which
    finds and words each problem.

    Every occurrence of a repeated key is checked; the last is kept, as a JSON parser keeps it.
    """
    try:
        decoded = (_DECODE_EVENTS if is_array else _DECODE_EVENT)(body)
    # ValidationError included; RecursionError: msgspec stops at Python's recursion limit, which the depth orjson
    # allows can reach
    except (msgspec.DecodeError, RecursionError):
        return None
    events: Any = msgspec.to_builtins(decoded)
    return events if is_array else [events]


def _check_time(ts: float, now: float, max_age: float, max_future: float) -> None:
    if ts < now - max_age:
        raise InvalidEvent("too_old", f"ts is more than {max_age:g}s in the past")
    if ts > now + max_future:
        raise InvalidEvent("in_future", f"ts is more than {max_future:g}s in the future")


def validate(event: Any, now: float, max_age: float, max_future: float, fields_checked: bool = False) -> dict[str, Any]:
    """Check ``event`` against schema v1 and return it; raise InvalidEvent otherwise.

    ``fields_checked``: the event comes from a body ``decode_checked`` passed, so only what that check
    leaves is checked.
    """
    if type(event) is not dict:
        if type(event) is Unparsable:
            raise InvalidEvent("malformed_json", event.error)
        raise InvalidEvent("not_an_object", "event must be a JSON object")
    etype = event.get("type")
    if type(etype) is not str or (compiled := _TYPE_CHECKS.get(etype)) is None:
        raise InvalidEvent("unknown_type", f"type must be one of {_TYPE_NAMES}")
    checks, required, needs_call = compiled
    if fields_checked and etype not in ACROSS_FIELDS:
        _check_time(event["ts"], now, max_age, max_future)
        return event
    invalid = _first_invalid(event, _ENVELOPE_FAST, _ENVELOPE_CHECKS)
    if invalid is not None:
        key, problem = invalid
        if problem is None:
            raise InvalidEvent("unknown_field", f"unknown envelope field {key!r}")
        raise InvalidEvent("invalid_field", f"{key} {problem}")
    ts = event.get("ts")
    if ts is None:
        raise InvalidEvent("missing_field", "ts is required")
    _check_time(ts, now, max_age, max_future)
    if needs_call and "call_id" not in event:
        raise InvalidEvent("missing_field", f"call_id is required for {etype}")
    attrs = event.get("attrs", {})
    if type(attrs) is not dict:
        raise InvalidEvent("invalid_field", "attrs must be an object")
    invalid = _first_invalid(attrs, _TYPE_FAST[etype], checks)
    if invalid is not None:
        key, problem = invalid
        if problem is None:
            raise InvalidEvent("unknown_field", f"unknown attribute {key!r} for {etype}")
        raise InvalidEvent("invalid_field", f"attrs.{key} {problem}")
    for key in required:
        if key not in attrs:
            raise InvalidEvent("missing_field", f"attrs.{key} is required for {etype}")
    if etype in RANGE_BY:
        key, by, ranges = RANGE_BY[etype]
        low, high = ranges[attrs[by]]
        if not low <= attrs[key] <= high:
            raise InvalidEvent("invalid_field", f"attrs.{key} must be from {low} to {high} on {by} {attrs[by]}")
    if etype in NOT_EMPTY and not attrs:
        raise InvalidEvent("missing_field", NOT_EMPTY[etype])
    for group in TOGETHER.get(etype, ()):
        present = [k for k in group if k in attrs]
        if present and group[0] not in attrs:
            raise InvalidEvent("missing_field", f"attrs.{group[0]} is required with {', '.join(present)}")
    return event


def json_schema() -> dict[str, Any]:
    """The published JSON Schema of one event, generated from the spec tables."""
    envelope = {k: f.json_schema() for k, f in ENVELOPE.items()}
    variants = []
    for etype, spec in TYPES.items():
        attrs = {
            "type": "object",
            "additionalProperties": False,
            "properties": {k: f.json_schema() for k, f in spec.items()},
        }
        required_attrs = [k for k, f in spec.items() if f.required]
        required = ["type", "ts"] + (["call_id"] if etype in CALL_SCOPED else [])
        if required_attrs:
            attrs["required"] = required_attrs
        together = {k: [group[0]] for group in TOGETHER.get(etype, ()) for k in group[1:]}
        if together:
            attrs["dependentRequired"] = together
        if etype in RANGE_BY:
            key, by, ranges = RANGE_BY[etype]
            attrs["allOf"] = [
                {
                    "if": {"properties": {by: {"const": value}}, "required": [by]},
                    "then": {"properties": {key: {"minimum": low, "maximum": high}}},
                }
                for value, (low, high) in ranges.items()
            ]
        if etype in NOT_EMPTY:
            attrs["minProperties"] = 1
            attrs["description"] = NOT_EMPTY[etype][0].upper() + NOT_EMPTY[etype][1:] + "."
        if required_attrs or etype in NOT_EMPTY:
            required.append("attrs")
        variant: dict[str, Any] = {
            "if": {"properties": {"type": {"const": etype}}, "required": ["type"]},
            "then": {"required": required, "properties": {"attrs": attrs}},
        }
        variants.append(variant)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"Voice engine event, schema {SCHEMA_VERSION}",
        "description": "One event sent to the exporter's POST /v1/events. A request body is one event, "
        "a JSON array of events, or NDJSON (one event per line).",
        "type": "object",
        "required": ["type", "ts"],
        "additionalProperties": False,
        "properties": {**envelope, "attrs": {"type": "object", "description": "Type-specific attributes."}},
        "allOf": variants,
    }
