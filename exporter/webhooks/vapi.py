"""Vapi server messages (``{"message": {"type": ...}}``) as exporter events.

Live messages follow the call (status-update, speech-update, user-interrupted); the end-of-call-report
is the whole call in one unit: its turns, interruptions, usage, costs and end.  Vapi's per-turn
latencies (``artifact.performanceMetrics.turnLatencies[]``) are milliseconds; events carry seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from voice_monitoring.exporter.credentials import MISSING, WRONG
from voice_monitoring.exporter.events import Attrs, Event
from voice_monitoring.exporter.feedback import platform_verdicts
from voice_monitoring.exporter.webhooks.payload import (
    Envelope,
    JsonObject,
    call_envelope,
    call_started,
    first_label,
    invalid,
    is_label_value,
    iso_time,
    items,
    ms_to_seconds,
    number,
    obj,
    share_agent_speech,
    tenant_of,
    text,
)
from voice_monitoring.exporter.webhooks.reports import LiveCalls, Translation
from voice_monitoring.exporter.webhooks.signatures import (
    lower_keys,
    same,
    unauthorized,
    verify_timestamped_hmac,
)

PLATFORM = "vapi"

# endedReason -> normalised reason.  A reason not listed here is an error when it names a failure
# (Vapi's many pipeline-error-*, call.start.error-*, *-failed reasons), else other.
END_REASONS = {
    "customer-ended-call": "user_hangup",
    "customer-ended-call-before-warm-transfer": "user_hangup",
    "customer-ended-call-after-warm-transfer-attempt": "user_hangup",
    "customer-ended-call-during-transfer": "user_hangup",
    "call.ringing.sip-inbound-caller-hungup-before-call-connect": "user_hangup",
    "assistant-ended-call": "agent_hangup",
    "assistant-said-end-call-phrase": "agent_hangup",
    "assistant-ended-call-with-hangup-task": "agent_hangup",
    "assistant-ended-call-after-message-spoken": "agent_hangup",
    "assistant-forwarded-call": "transfer",
    "call.ringing.hook-executed-transfer": "transfer",
    "call.ending.hook-executed-transfer": "transfer",
    "silence-timed-out": "timeout",
    "exceeded-max-duration": "timeout",
    "assistant-join-timed-out": "timeout",
    "customer-did-not-answer": "other",
    "customer-busy": "other",
    "voicemail": "other",
    "manually-canceled": "other",
    "call.forwarding.operator-busy": "other",
    "call.forwarding.no-answer": "other",
    "twilio-reported-customer-misdialed": "other",
    "vonage-completed": "other",
    "call.in-progress.twilio-completed-call": "other",
    "call.in-progress.sip-completed-call": "other",
}
_FAILURE_WORDS = ("error", "fault", "failed", "worker-shutdown", "not-found", "not-valid", "rejected", "disconnected")


def end_reason(raw: str) -> str:
    known = END_REASONS.get(raw)
    if known is not None:
        return known
    return "error" if any(word in raw for word in _FAILURE_WORDS) else "other"


# costs[].type -> the service label of the cost
COST_SERVICES = {
    "transport": "transport",
    "transcriber": "stt",
    "model": "llm",
    "voice": "tts",
    "vapi": "platform",
    "analysis": "llm",
    "knowledge-base": "llm",
    "voicemail-detection": "llm",
}
# costs[].type -> the object in the item naming the vendor (its ``provider``) and model; an item without one
# names its vendor in its own ``provider`` (transport, voicemail-detection), or is Vapi's own.
VENDOR_OBJECTS = {
    "transcriber": "transcriber",
    "model": "model",
    "voice": "voice",
    "analysis": "model",
    "knowledge-base": "model",
}
# Vapi's vendor names -> the names the price table and the other integrations use
VENDOR_NAMES = {"11labs": "elevenlabs"}
# costs[] token fields -> usage unit, by type
TOKEN_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "model": (("promptTokens", "tokens_in"), ("completionTokens", "tokens_out")),
    "analysis": (("promptTokens", "tokens_in"), ("completionTokens", "tokens_out")),
    "knowledge-base": (("promptTokens", "tokens_in"), ("completionTokens", "tokens_out")),
}
# costs[] billed quantities -> (service's usage unit), by type
QUANTITY_FIELDS = {
    "transcriber": ("minutes", "minutes"),
    "transport": ("minutes", "minutes"),
    "vapi": ("minutes", "minutes"),
    "voice": ("characters", "characters"),
}
# call.costBreakdown, used when the report carries no costs[]: cost fields -> service
BREAKDOWN_SERVICES = {
    "transport": "transport",
    "stt": "stt",
    "llm": "llm",
    "tts": "tts",
    "vapi": "platform",
    "chat": "llm",
    "voicemailDetectionCost": "llm",
    "knowledgeBaseCost": "llm",
}
# costBreakdown.analysisCostBreakdown parts: each a cost (llm) with its <part>PromptTokens, ...CompletionTokens
ANALYSIS_PARTS = ("summary", "structuredData", "successEvaluation", "structuredOutput")
# turnLatencies[] fields (milliseconds) -> (component, service) of a latency event carrying the service's vendor
TURN_COMPONENTS = {
    "transcriberLatency": ("stt", "stt"),
    "modelLatency": ("llm_ttft", "llm"),
    "voiceLatency": ("tts_ttfb", "tts"),
}
# performanceMetrics transport averages (milliseconds): packets from and to the transport provider
NETWORK_FIELDS = ("fromTransportLatencyAverage", "toTransportLatencyAverage")
# speech-update (role, status) -> conversation state
SPEECH_STATES = {
    ("assistant", "started"): "speaking",
    ("assistant", "stopped"): "listening",
    ("user", "started"): "listening",
    ("user", "stopped"): "processing",
}
TRANSPORTS = {"webCall": "webrtc", "inboundPhoneCall": "sip", "outboundPhoneCall": "sip"}


# Headers in which older revisions of Vapi's server authentication send the server URL secret itself
LEGACY_SECRET_HEADERS = ("x-vapi-secret", "x-vapi-signature")


@dataclass(frozen=True)
class VapiAuth:
    """Vapi's ways to prove the secret: a bearer token (header configurable), the secret itself in a legacy
    header (X-Vapi-Secret, or X-Vapi-Signature as older revisions of Vapi's docs send it), or an HMAC.

    With no secret configured every request is accepted.
    """

    secret: str | None = None
    token_header: str = "Authorization"
    signature_header: str = "x-signature"
    timestamp_header: str = "x-timestamp"

    def check(self, headers: Mapping[str, str], body: bytes, now: float) -> None:
        if self.secret is None:
            return
        h = lower_keys(headers)
        token = h.get(self.token_header.lower())
        if token is not None:
            token = token.strip()
            if token[:7].lower() == "bearer ":
                token = token[7:].strip()
            if same(token, self.secret):
                return
        legacy = [h[name].strip() for name in LEGACY_SECRET_HEADERS if h.get(name) is not None]
        if any([same(given, self.secret) for given in legacy]):  # a list: every given value is compared
            return
        signature = h.get(self.signature_header.lower())
        if signature:
            verify_timestamped_hmac(signature, h.get(self.timestamp_header.lower()), body, self.secret, now)
            return
        if token is not None or legacy:
            raise unauthorized(WRONG, "the webhook secret does not match")
        raise unauthorized(
            MISSING,
            f"authentication required: a bearer token in {self.token_header}, X-Vapi-Secret, X-Vapi-Signature "
            f"or an HMAC signature in {self.signature_header}",
        )


class VapiMessages:
    name = PLATFORM

    def __init__(self, auth: VapiAuth):
        self.auth = auth

    def authenticate(self, headers: Mapping[str, str], body: bytes, now: float) -> None:
        self.auth.check(headers, body, now)

    def translate(self, payload: object, now: float, live: LiveCalls) -> Translation:
        if type(payload) is not dict:
            raise invalid("the body must be a JSON object")
        message = obj(payload, "message", "body", required=True)
        mtype = text(message, "type", "message", required=True)
        handler = _HANDLERS.get(mtype)
        if handler is None:
            return Translation(note=f"{mtype} messages are not monitored")
        call = obj(message, "call", "message", required=True)
        call_id = text(call, "id", "message.call", required=True)
        stamp = number(message, "timestamp", "message")
        ts = ms_to_seconds(stamp) if stamp is not None else now
        assistant = obj(message, "assistant", "message")
        metadata = [md if type(md) is dict else {} for md in (call.get("metadata"), assistant.get("metadata"))]
        tenant = tenant_of(*metadata)
        # the agent a team names in metadata, else the assistant's name, else its id; the version likewise, else
        # the assistant version label Vapi sends for an org on assistant versioning
        agent = first_label(*(md.get("agent") for md in metadata), assistant.get("name"), call.get("assistantId"))
        version = first_label(
            *(md.get("agent_version") for md in metadata), message.get("assistantVersion"), call.get("assistantVersion")
        )
        return handler(message, call, call_envelope(PLATFORM, call_id, tenant, agent, version), ts, now, live)


def _started(call: JsonObject, envelope: Envelope, ts: float) -> Event:
    call_type = call.get("type")
    return call_started(envelope, ts, TRANSPORTS.get(call_type) if type(call_type) is str else None)


# A message type's handler: (message, message.call, the call's envelope, the message's time, now, live calls)
Handler = Callable[[JsonObject, JsonObject, Envelope, float, float, LiveCalls], Translation]


def _status_update(
    message: JsonObject, call: JsonObject, envelope: Envelope, ts: float, now: float, live: LiveCalls
) -> Translation:
    status = text(message, "status", "message", required=True)
    call_id = envelope["call_id"]
    if status != "in-progress":
        return Translation(note=f"status {status} is not monitored; the end-of-call-report ends the call")
    if live.get(call_id) is not None:
        return Translation(note="the call has already started")
    live.start(call_id, now)
    return Translation([_started(call, envelope, ts)])


def _speech_update(
    message: JsonObject, call: JsonObject, envelope: Envelope, ts: float, now: float, live: LiveCalls
) -> Translation:
    role = text(message, "role", "message", required=True)
    status = text(message, "status", "message", required=True)
    state = SPEECH_STATES.get((role, status))
    if state is None or live.get(envelope["call_id"]) is None:
        return Translation(note="only speech of calls followed live since in-progress is monitored")
    return Translation([{"type": "state", "ts": ts, **envelope, "attrs": {"state": state}}])


def _user_interrupted(
    message: JsonObject, call: JsonObject, envelope: Envelope, ts: float, now: float, live: LiveCalls
) -> Translation:
    followed = live.get(envelope["call_id"])
    if followed is None:
        return Translation(note="the end-of-call-report counts this call's interruptions")
    followed.interruptions += 1
    return Translation([{"type": "interruption", "ts": ts, **envelope, "attrs": {"kind": "barge_in"}}])


def _end_of_call_report(
    message: JsonObject, call: JsonObject, envelope: Envelope, ts: float, now: float, live: LiveCalls
) -> Translation:
    call_id = envelope["call_id"]
    ended_at = iso_time(message, "endedAt", "message") or iso_time(call, "endedAt", "message.call") or ts
    started_at = iso_time(message, "startedAt", "message") or iso_time(call, "startedAt", "message.call") or ended_at
    if ended_at < started_at:
        raise invalid("message.endedAt is before message.startedAt")
    raw_reason = text(message, "endedReason", "message") or text(call, "endedReason", "message.call") or "unknown"
    artifact = obj(message, "artifact", "message")
    performance = obj(artifact, "performanceMetrics", "message.artifact")
    at: Event = {"ts": ended_at, **envelope}
    costs = Costs(message, call)

    events: list[Event] = []
    followed = live.pop(call_id)
    if followed is None:
        events.append(_started(call, envelope, started_at))
    else:  # an event changing nothing, so that a call the exporter let go while idle is taken up under its labels
        events.append({"type": "state", **at, "attrs": {}})
    turns: list[Event] = []
    for index, entry in enumerate(items(performance, "turnLatencies", "message.artifact.performanceMetrics")):
        where = f"message.artifact.performanceMetrics.turnLatencies[{index}]"
        if type(entry) is not dict:
            raise invalid(f"{where} must be an object")
        turn_ms = number(entry, "turnLatency", where)
        if turn_ms is None:
            continue
        attrs: Attrs = {"latency_seconds": ms_to_seconds(turn_ms)}
        endpointing = number(entry, "endpointingLatency", where)
        if endpointing is not None:
            attrs["endpointing_seconds"] = ms_to_seconds(endpointing)
        turns.append({"type": "turn", **at, "attrs": attrs})
        for source, (component, service) in TURN_COMPONENTS.items():
            latency = number(entry, source, where)
            if latency is not None:
                events.append(costs.latency(at, component, service, ms_to_seconds(latency)))
    share_agent_speech(turns, _agent_speech(artifact))
    events += turns
    for source in NETWORK_FIELDS:
        latency = number(performance, source, "message.artifact.performanceMetrics")
        if latency is not None:
            events.append(costs.latency(at, "network", "transport", ms_to_seconds(latency)))
    interrupted = number(performance, "numAssistantInterrupted", "message.artifact.performanceMetrics") or 0
    already = followed.interruptions if followed is not None else 0
    events += [{"type": "interruption", **at, "attrs": {"kind": "barge_in"}}] * max(0, int(interrupted) - already)
    events += costs.events(at)
    verdict = obj(message, "analysis", "message").get("successEvaluation")
    successful = verdict in (True, "true") if verdict in (True, False, "true", "false") else None
    if successful is not None:
        events.append({"type": "analysis", **at, "attrs": {"successful": successful}})
    duration = ended_at - started_at
    attrs = {"duration_seconds": duration, "reason": raw_reason, "end_reason": end_reason(raw_reason)}
    events.append({"type": "call.ended", **at, "attrs": attrs})
    events += [{"type": "feedback", **at, "attrs": verdict} for verdict in platform_verdicts(successful, None)]
    return Translation(events, report=call_id)


def _agent_speech(artifact: JsonObject) -> list[float]:
    """Seconds of each assistant message in ``artifact.messages[]`` (role ``bot``).

    ``endTime`` - ``time`` (epoch milliseconds) where both are given, else ``duration``, read as milliseconds:
    Vapi's reports carry it so (a message from ``time`` 1744364970174 to ``endTime`` 1744364970494 has
    ``duration`` 320) although its SDK's model calls it seconds.
    """
    spoken = []
    for index, entry in enumerate(items(artifact, "messages", "message.artifact")):
        if type(entry) is not dict or entry.get("role") != "bot":
            continue
        where = f"message.artifact.messages[{index}]"
        start, end = number(entry, "time", where), number(entry, "endTime", where)
        ms = end - start if start is not None and end is not None and end >= start else number(entry, "duration", where)
        if ms:
            spoken.append(ms_to_seconds(ms))
    return spoken


def _vendor(name: object) -> str | None:
    if not is_label_value(name):
        return None
    return VENDOR_NAMES.get(name.lower(), name.lower())


class Usage(NamedTuple):
    """A quantity of a service's usage, under the vendor (and model) that served it."""

    service: str
    vendor: str
    unit: str
    quantity: float
    model: str | None


class Costs:
    """The report's costs and usage, each under the vendor that served it: ``costs[]``, else ``costBreakdown``."""

    def __init__(self, message: JsonObject, call: JsonObject):
        self.by_service: dict[tuple[str, str], float] = {}  # (service, vendor) -> USD
        self.usage: list[Usage] = []
        self.vendors: dict[str, str] = {}  # service -> the first vendor that served it
        costs = items(message, "costs", "message") or items(call, "costs", "message.call")
        for index, item in enumerate(costs):
            self._read_item(item, f"message.costs[{index}]")
        if not costs:
            breakdown = obj(message, "costBreakdown", "message") or obj(call, "costBreakdown", "message.call")
            self._read_breakdown(breakdown)
        if self.by_service:  # the report's bill is the call's whole cost: a service it used but did not bill is $0
            billed = {service for service, _ in self.by_service}
            for service, vendor, *_ in self.usage:
                if service not in billed:
                    self.by_service[(service, vendor)] = 0.0
                    billed.add(service)

    def _read_item(self, item: object, where: str) -> None:
        if type(item) is not dict:
            raise invalid(f"{where} must be an object")
        kind = text(item, "type", where, required=True)
        service = COST_SERVICES.get(kind, "platform")
        usd = number(item, "cost", where, required=True)
        described = obj(item, VENDOR_OBJECTS[kind], where) if kind in VENDOR_OBJECTS else {}
        vendor = _vendor(described.get("provider") or item.get("provider")) or PLATFORM
        model = described.get("model") if is_label_value(described.get("model")) else None
        self.vendors.setdefault(service, vendor)
        self.by_service[(service, vendor)] = self.by_service.get((service, vendor), 0.0) + usd
        for key, unit in TOKEN_FIELDS.get(kind, ()):
            self._tokens(service, vendor, unit, number(item, key, where), model)
        if kind in TOKEN_FIELDS:
            cached = number(item, "cachedPromptTokens", where)
            self._cached(service, vendor, cached, model)
        if kind in QUANTITY_FIELDS:
            key, unit = QUANTITY_FIELDS[kind]
            quantity = number(item, key, where)
            if quantity:
                self.usage.append(Usage(service, vendor, unit, quantity, model))

    def _tokens(self, service: str, vendor: str, unit: str, quantity: float | None, model: str | None) -> None:
        if quantity:
            self.usage.append(Usage(service, vendor, unit, quantity, model))

    def _cached(self, service: str, vendor: str, cached: float | None, model: str | None) -> None:
        """Move the cached part of the prompt tokens just booked to its own unit."""
        if not cached:
            return
        for index in range(len(self.usage) - 1, -1, -1):
            booked = self.usage[index]
            if (booked.service, booked.vendor, booked.unit, booked.model) == (service, vendor, "tokens_in", model):
                cached = min(cached, booked.quantity)
                self.usage[index] = booked._replace(quantity=booked.quantity - cached)
                break
        self.usage.append(Usage(service, vendor, "tokens_in_cached", cached, model))

    def _read_breakdown(self, breakdown: JsonObject) -> None:
        where = "message.costBreakdown"
        for key, service in BREAKDOWN_SERVICES.items():
            usd = number(breakdown, key, where)
            if usd is not None:  # a $0 line is booked: it is what the service cost
                self.by_service[(service, PLATFORM)] = self.by_service.get((service, PLATFORM), 0.0) + usd
        for key, service, unit in (
            ("llmPromptTokens", "llm", "tokens_in"),
            ("llmCompletionTokens", "llm", "tokens_out"),
            ("ttsCharacters", "tts", "characters"),
        ):
            self._tokens(service, PLATFORM, unit, number(breakdown, key, where), None)
        self._cached("llm", PLATFORM, number(breakdown, "llmCachedPromptTokens", where), None)
        analysis = obj(breakdown, "analysisCostBreakdown", where)
        for part in ANALYSIS_PARTS:
            part_where = f"{where}.analysisCostBreakdown"
            usd = number(analysis, part, part_where)
            if usd is not None:
                self.by_service[("llm", PLATFORM)] = self.by_service.get(("llm", PLATFORM), 0.0) + usd
            self._tokens("llm", PLATFORM, "tokens_in", number(analysis, f"{part}PromptTokens", part_where), None)
            self._tokens("llm", PLATFORM, "tokens_out", number(analysis, f"{part}CompletionTokens", part_where), None)
            self._cached("llm", PLATFORM, number(analysis, f"{part}CachedPromptTokens", part_where), None)

    def latency(self, at: Event, component: str, service: str, seconds: float) -> Event:
        """A latency event of ``component``, under the vendor that served ``service`` when the costs name one."""
        attrs = {"component": component, "seconds": seconds, "service": service}
        return {"type": "latency", **at, "provider": self.vendors.get(service, PLATFORM), "attrs": attrs}

    def events(self, at: Event) -> list[Event]:
        events: list[Event] = []
        for service, vendor, unit, quantity, model in self.usage:
            attrs = {"service": service, "unit": unit, "quantity": quantity}
            event: Event = {"type": "usage", **at, "provider": vendor, "attrs": attrs}
            if model is not None:
                event["model"] = model
            events.append(event)
        for (service, vendor), usd in self.by_service.items():
            events.append({"type": "cost", **at, "provider": vendor, "attrs": {"service": service, "usd": usd}})
        return events


_HANDLERS: dict[str, Handler] = {
    "status-update": _status_update,
    "speech-update": _speech_update,
    "user-interrupted": _user_interrupted,
    "end-of-call-report": _end_of_call_report,
}
