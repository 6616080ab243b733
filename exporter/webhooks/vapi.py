"""Vapi server messages (``{"message": {"type": ...}}``) as exporter events.

Live messages follow the call (status-update, speech-update, user-interrupted); the end-of-call-report
is the whole call in one unit: its turns, interruptions, usage, costs and end.  Vapi's per-turn
latencies (``artifact.performanceMetrics.turnLatencies[]``) are milliseconds; events carry seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from voice_monitoring.exporter.webhooks.payload import (
    call_envelope,
    call_started,
    invalid,
    iso_time,
    items,
    label_text,
    ms_to_seconds,
    number,
    obj,
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
# call.costBreakdown fields, used when the report carries no costs[]
BREAKDOWN_SERVICES = {"transport": "transport", "stt": "stt", "llm": "llm", "tts": "tts", "vapi": "platform"}
# turnLatencies[] fields (milliseconds) -> turn event attributes (seconds)
TURN_FIELDS = {
    "transcriberLatency": "stt_seconds",
    "modelLatency": "llm_ttft_seconds",
    "voiceLatency": "tts_ttfb_seconds",
    "endpointingLatency": "endpointing_seconds",
}
# speech-update (role, status) -> conversation state
SPEECH_STATES = {
    ("assistant", "started"): "speaking",
    ("assistant", "stopped"): "listening",
    ("user", "started"): "listening",
    ("user", "stopped"): "processing",
}
TRANSPORTS = {"webCall": "webrtc", "inboundPhoneCall": "sip", "outboundPhoneCall": "sip"}


@dataclass(frozen=True)
class VapiAuth:
    """Vapi's ways to prove the secret: a bearer token (header configurable), X-Vapi-Secret, or an HMAC.

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
        legacy = h.get("x-vapi-secret")
        if legacy is not None and same(legacy.strip(), self.secret):
            return
        signature = h.get(self.signature_header.lower())
        if signature:
            verify_timestamped_hmac(signature, h.get(self.timestamp_header.lower()), body, self.secret, now)
            return
        if token is not None or legacy is not None:
            raise unauthorized("the webhook secret does not match")
        raise unauthorized(
            f"authentication required: a bearer token in {self.token_header}, X-Vapi-Secret, "
            f"or an HMAC signature in {self.signature_header}"
        )


class VapiMessages:
    name = PLATFORM

    def __init__(self, auth: VapiAuth):
        self.auth = auth

    def authenticate(self, headers: Mapping[str, str], body: bytes, now: float) -> None:
        self.auth.check(headers, body, now)

    def translate(self, payload, now: float, live: LiveCalls) -> Translation:
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
        tenant = tenant_of(call.get("metadata"), obj(message, "assistant", "message").get("metadata"))
        return handler(message, call, call_envelope(PLATFORM, call_id, tenant), ts, now, live)


def _started(call: dict, envelope: dict, ts: float) -> dict:
    return call_started(envelope, ts, TRANSPORTS.get(call.get("type")))


def _status_update(message, call, envelope, ts, now, live: LiveCalls) -> Translation:
    status = text(message, "status", "message", required=True)
    call_id = envelope["call_id"]
    if status != "in-progress":
        return Translation(note=f"status {status} is not monitored; the end-of-call-report ends the call")
    if live.get(call_id) is not None:
        return Translation(note="the call has already started")
    live.start(call_id, now)
    return Translation([_started(call, envelope, ts)])


def _speech_update(message, call, envelope, ts, now, live: LiveCalls) -> Translation:
    role = text(message, "role", "message", required=True)
    status = text(message, "status", "message", required=True)
    state = SPEECH_STATES.get((role, status))
    if state is None or live.get(envelope["call_id"]) is None:
        return Translation(note="only speech of calls followed live since in-progress is monitored")
    return Translation([{"type": "state", "ts": ts, **envelope, "attrs": {"state": state}}])


def _user_interrupted(message, call, envelope, ts, now, live: LiveCalls) -> Translation:
    followed = live.get(envelope["call_id"])
    if followed is None:
        return Translation(note="the end-of-call-report counts this call's interruptions")
    followed.interruptions += 1
    return Translation([{"type": "interruption", "ts": ts, **envelope, "attrs": {"kind": "barge_in"}}])


def _end_of_call_report(message, call, envelope, ts, now, live: LiveCalls) -> Translation:
    call_id = envelope["call_id"]
    ended_at = iso_time(message, "endedAt", "message") or iso_time(call, "endedAt", "message.call") or ts
    started_at = iso_time(message, "startedAt", "message") or iso_time(call, "startedAt", "message.call") or ended_at
    if ended_at < started_at:
        raise invalid("message.endedAt is before message.startedAt")
    raw_reason = text(message, "endedReason", "message") or text(call, "endedReason", "message.call") or "unknown"
    artifact = obj(message, "artifact", "message")
    performance = obj(artifact, "performanceMetrics", "message.artifact")
    at = {"ts": ended_at, **envelope}

    events = []
    followed = live.pop(call_id)
    if followed is None:
        events.append(_started(call, envelope, started_at))
    for index, entry in enumerate(items(performance, "turnLatencies", "message.artifact.performanceMetrics")):
        where = f"message.artifact.performanceMetrics.turnLatencies[{index}]"
        if type(entry) is not dict:
            raise invalid(f"{where} must be an object")
        turn_ms = number(entry, "turnLatency", where)
        if turn_ms is None:
            continue
        attrs = {"latency_seconds": ms_to_seconds(turn_ms)}
        for source, key in TURN_FIELDS.items():
            value = number(entry, source, where)
            if value is not None:
                attrs[key] = ms_to_seconds(value)
        events.append({"type": "turn", **at, "attrs": attrs})
    interrupted = number(performance, "numAssistantInterrupted", "message.artifact.performanceMetrics") or 0
    already = followed.interruptions if followed is not None else 0
    events += [{"type": "interruption", **at, "attrs": {"kind": "barge_in"}}] * max(0, int(interrupted) - already)
    events += _usage_and_costs(message, call, at)
    verdict = obj(message, "analysis", "message").get("successEvaluation")
    if verdict in (True, False, "true", "false"):
        events.append({"type": "analysis", **at, "attrs": {"successful": verdict in (True, "true")}})
    duration = ended_at - started_at
    attrs = {"duration_seconds": duration, "reason": raw_reason, "end_reason": end_reason(raw_reason)}
    events.append({"type": "call.ended", **at, "attrs": attrs})
    return Translation(events, report=call_id)


def _usage_and_costs(message: dict, call: dict, at: dict) -> list[dict]:
    costs = items(message, "costs", "message") or items(call, "costs", "message.call")
    by_service: dict[str, float] = {}
    usage: list[tuple[str, str, float, str | None]] = []  # service, unit, quantity, model
    for index, item in enumerate(costs):
        where = f"message.costs[{index}]"
        if type(item) is not dict:
            raise invalid(f"{where} must be an object")
        kind = text(item, "type", where, required=True)
        service = COST_SERVICES.get(kind, "platform")
        by_service[service] = by_service.get(service, 0.0) + number(item, "cost", where, required=True)
        if kind == "model":
            model = obj(item, "model", where).get("model")
            for key, unit in (("promptTokens", "tokens_in"), ("completionTokens", "tokens_out")):
                quantity = number(item, key, where)
                if quantity:
                    usage.append(("llm", unit, quantity, model))
        elif kind == "voice" and number(item, "characters", where):
            usage.append(("tts", "characters", item["characters"], None))
        elif kind == "transcriber" and number(item, "minutes", where):
            usage.append(("stt", "minutes", item["minutes"], None))
    if not costs:
        breakdown = obj(message, "costBreakdown", "message") or obj(call, "costBreakdown", "message.call")
        for key, service in BREAKDOWN_SERVICES.items():
            cost = number(breakdown, key, "costBreakdown")
            if cost:
                by_service[service] = by_service.get(service, 0.0) + cost
        for key, service, unit in (
            ("llmPromptTokens", "llm", "tokens_in"),
            ("llmCompletionTokens", "llm", "tokens_out"),
            ("ttsCharacters", "tts", "characters"),
        ):
            quantity = number(breakdown, key, "costBreakdown")
            if quantity:
                usage.append((service, unit, quantity, None))
    events = []
    for service, unit, quantity, model in usage:
        event = {"type": "usage", **at, "attrs": {"service": service, "unit": unit, "quantity": quantity}}
        if label_text(model):
            event["model"] = model
        events.append(event)
    for service, usd in by_service.items():
        events.append({"type": "cost", **at, "attrs": {"service": service, "usd": usd}})
    return events


_HANDLERS = {
    "status-update": _status_update,
    "speech-update": _speech_update,
    "user-interrupted": _user_interrupted,
    "end-of-call-report": _end_of_call_report,
}
