"""Retell call events (``{"event": ..., "call": {...}}``) as exporter events.

call_started starts the call; call_ended is the whole call in one unit (per-turn latencies from
``latency.*.values[]`` in milliseconds, ``call_cost`` in cents, token usage, end); call_analyzed adds
the call's outcome (successful, sentiment).  Every request is signed with the account's API key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from voice_monitoring.exporter.events import Attrs, Event
from voice_monitoring.exporter.feedback import platform_verdicts
from voice_monitoring.exporter.webhooks.payload import (
    Envelope,
    JsonObject,
    WebhookRefused,
    call_envelope,
    call_started,
    first_label,
    invalid,
    items,
    ms_to_seconds,
    number,
    obj,
    share_agent_speech,
    tenant_of,
    text,
)
from voice_monitoring.exporter.webhooks.reports import LiveCalls, Translation
from voice_monitoring.exporter.webhooks.signatures import lower_keys, verify_retell

PLATFORM = "retell"

# disconnection_reason -> normalised reason, every value of Retell's list.  A call that never connected is an
# error when the setup failed (the dial, the number, the trunk, the account) and other when the callee did not
# take it (busy, no answer); user_declined is the callee hanging up.  A reason not listed is an error when it
# starts with error_, else other.
END_REASONS = {
    "user_hangup": "user_hangup",
    "user_declined": "user_hangup",
    "agent_hangup": "agent_hangup",
    "call_transfer": "transfer",
    "transfer_bridged": "transfer",
    "transfer_cancelled": "transfer",
    "call_take_over": "transfer",
    "inactivity": "timeout",
    "max_duration_reached": "timeout",
    "registered_call_timeout": "timeout",
    "dial_failed": "error",
    "invalid_destination": "error",
    "telephony_provider_permission_denied": "error",
    "telephony_provider_unavailable": "error",
    "sip_routing_error": "error",
    "marked_as_spam": "error",
    "network_blocked": "error",
    "scam_detected": "error",
    "concurrency_limit_reached": "error",
    "no_concurrency_fallback": "error",
    "no_valid_payment": "error",
    "credit_exhausted": "error",
    "budget_reached": "error",
    "error_llm_websocket_open": "error",
    "error_llm_websocket_lost_connection": "error",
    "error_llm_websocket_runtime": "error",
    "error_llm_websocket_corrupt_payload": "error",
    "error_no_audio_received": "error",
    "error_asr": "error",
    "error_retell": "error",
    "error_unknown": "error",
    "error_user_not_joined": "error",
    "error_inbound_webhook": "error",
    "dial_busy": "other",
    "dial_no_answer": "other",
    "voicemail_reached": "other",
    "machine_detected": "other",
    "ivr_reached": "other",
    "user_requested_dnc": "other",
    "user_requested_callback": "other",
    "manual_stopped": "other",
}


def end_reason(raw: str) -> str:
    known = END_REASONS.get(raw)
    if known is not None:
        return known
    return "error" if raw.startswith("error") else "other"


# latency.<name>.values[] (milliseconds) -> (component, service) of a latency event; e2e makes the turns.
LATENCY_COMPONENTS = {
    "asr": ("stt", "stt"),
    "llm": ("llm_ttft", "llm"),
    "tts": ("tts_ttfb", "tts"),
    "llm_websocket_network_rtt": ("network", "llm"),
    "knowledge_base": ("knowledge_base", "llm"),
    "s2s": ("s2s", "llm"),
}
# product_costs[].product -> service, by name.  Retell bills its voice engine, noise cancellation and other
# add-ons as platform fees; only the speech synthesis products are tts.
PRODUCTS = {
    "retell_platform": "platform",
    "retell_voice_engine": "platform",
    "background_voice_cancellation": "platform",
    "denoising": "platform",
    "batch_call": "platform",
    "branded_call": "platform",
    "llm_token_surcharge": "llm",
    "knowledge_base": "llm",
    "retell_telephony": "transport",
}
# Families of products named after a model or vendor: (prefix, suffix) -> service, checked in order.
PRODUCT_FAMILIES = (
    (("post_call_analysis_", ""), "llm"),
    (("gpt_", ""), "llm"),
    (("claude_", ""), "llm"),
    (("gemini_", ""), "llm"),
    (("", "_tts"), "tts"),
    (("", "_stt"), "stt"),
    (("", "_telephony"), "transport"),
)
SENTIMENTS = {"Positive": "positive", "Negative": "negative", "Neutral": "neutral", "Unknown": "unknown"}
TRANSPORTS = {"web_call": "webrtc", "phone_call": "sip"}


def service_of_product(product: str) -> tuple[str, bool]:
    """The service a product is booked under, and whether the table knows it (an unknown one is platform)."""
    service = PRODUCTS.get(product)
    if service is not None:
        return service, True
    for (prefix, suffix), family in PRODUCT_FAMILIES:
        if product.startswith(prefix) and product.endswith(suffix):
            return family, True
    return "platform", False


class RetellEvents:
    name = PLATFORM

    def __init__(self, api_key: str | None):
        self.api_key = api_key

    def authenticate(self, headers: Mapping[str, str], body: bytes, now: float) -> None:
        if self.api_key is None:
            raise WebhookRefused(503, "not_configured", "the Retell API key is not configured (RETELL_API_KEY)")
        verify_retell(lower_keys(headers).get("x-retell-signature"), body, self.api_key, now)

    def translate(self, payload: object, now: float, live: LiveCalls) -> Translation:
        if type(payload) is not dict:
            raise invalid("the body must be a JSON object")
        event = text(payload, "event", "body", required=True)
        handler = _HANDLERS.get(event)
        if handler is None:
            return Translation(note=f"{event} events are not monitored")
        call = obj(payload, "call", "body", required=True)
        call_id = text(call, "call_id", "call", required=True)
        agent = first_label(call.get("agent_name"), call.get("agent_id"))
        envelope = call_envelope(
            PLATFORM, call_id, tenant_of(call.get("metadata")), agent, first_label(call.get("agent_version"))
        )
        return handler(call, envelope, now, live)


def _timestamps(call: JsonObject, now: float) -> tuple[float, float]:
    start = number(call, "start_timestamp", "call")
    end = number(call, "end_timestamp", "call")
    ended_at = ms_to_seconds(end) if end is not None else now
    started_at = ms_to_seconds(start) if start is not None else ended_at
    if ended_at < started_at:
        raise invalid("call.end_timestamp is before call.start_timestamp")
    return started_at, ended_at


def _started(call: JsonObject, envelope: Envelope, ts: float) -> Event:
    call_type = call.get("call_type")
    return call_started(envelope, ts, TRANSPORTS.get(call_type) if type(call_type) is str else None)


# An event type's handler: (the call, its envelope, now, live calls)
Handler = Callable[[JsonObject, Envelope, float, LiveCalls], Translation]


def _call_started(call: JsonObject, envelope: Envelope, now: float, live: LiveCalls) -> Translation:
    call_id = envelope["call_id"]
    if live.get(call_id) is not None:
        return Translation(note="the call has already started")
    start = number(call, "start_timestamp", "call")
    live.start(call_id, now)
    return Translation([_started(call, envelope, ms_to_seconds(start) if start is not None else now)])


def _call_ended(call: JsonObject, envelope: Envelope, now: float, live: LiveCalls) -> Translation:
    call_id = envelope["call_id"]
    started_at, ended_at = _timestamps(call, now)
    at: Event = {"ts": ended_at, **envelope}
    events: list[Event] = []
    if live.pop(call_id) is None:
        events.append(_started(call, envelope, started_at))
    latency = obj(call, "latency", "call")
    turns = _values(latency, "e2e")
    turn_events = [{"type": "turn", **at, "attrs": {"latency_seconds": ms_to_seconds(value)}} for value in turns]
    share_agent_speech(turn_events, _agent_speech(call))
    events += turn_events
    for name, (component, service) in LATENCY_COMPONENTS.items():
        for value in _values(latency, name):
            attrs = {"component": component, "seconds": ms_to_seconds(value), "service": service}
            events.append({"type": "latency", **at, "attrs": attrs})
    usage: list[Attrs] = []
    tokens = _values(call, "llm_token_usage", "call")
    if tokens:
        usage.append({"service": "llm", "unit": "tokens_in", "quantity": sum(tokens)})
    call_cost = obj(call, "call_cost", "call")
    billed = number(call_cost, "total_duration_seconds", "call.call_cost")
    if billed:
        usage.append({"service": "platform", "unit": "minutes", "quantity": billed / 60.0})
    events += [{"type": "usage", **at, "attrs": attrs} for attrs in usage]
    costs, unknown = _costs(call_cost, [attrs["service"] for attrs in usage])
    for service, usd in costs.items():
        events.append({"type": "cost", **at, "attrs": {"service": service, "usd": usd}})
    duration_ms = number(call, "duration_ms", "call")
    duration = ms_to_seconds(duration_ms) if duration_ms is not None else ended_at - started_at
    raw_reason = text(call, "disconnection_reason", "call") or "unknown"
    attrs = {"duration_seconds": duration, "reason": raw_reason, "end_reason": end_reason(raw_reason)}
    p95 = number(obj(latency, "e2e", "call.latency"), "p95", "call.latency.e2e")
    if not turns and p95 is not None:  # percentiles only: no turns, but the call's p95
        attrs["turn_p95_seconds"] = ms_to_seconds(p95)
    events.append({"type": "call.ended", **at, "attrs": attrs})
    counted = {"unknown_product": unknown} if unknown else {}
    return Translation(events, report=f"{call_id}/call_ended", counted=counted)


def _call_analyzed(call: JsonObject, envelope: Envelope, now: float, live: LiveCalls) -> Translation:
    analysis = obj(call, "call_analysis", "call")
    attrs: Attrs = {}
    successful = analysis.get("call_successful")
    if successful is not None:
        if type(successful) is not bool:
            raise invalid("call.call_analysis.call_successful must be true or false")
        attrs["successful"] = successful
    sentiment = analysis.get("user_sentiment")
    if sentiment is not None:
        if sentiment not in SENTIMENTS:
            raise invalid(f"call.call_analysis.user_sentiment must be one of {', '.join(SENTIMENTS)}")
        attrs["sentiment"] = SENTIMENTS[sentiment]
    if not attrs:
        return Translation(note="the call analysis has neither call_successful nor user_sentiment")
    _, ended_at = _timestamps(call, now)
    events = [{"type": "analysis", "ts": ended_at, **envelope, "attrs": attrs}]
    verdicts = platform_verdicts(attrs.get("successful"), attrs.get("sentiment"))
    events += [{"type": "feedback", "ts": ended_at, **envelope, "attrs": verdict} for verdict in verdicts]
    return Translation(events, report=f"{envelope['call_id']}/call_analyzed")


def _agent_speech(call: JsonObject) -> list[float]:
    """Seconds of each agent utterance in ``transcript_object[]``: its first word's start to its last word's end
    (seconds of the call's audio)."""
    spoken = []
    for index, utterance in enumerate(items(call, "transcript_object", "call")):
        if type(utterance) is not dict or utterance.get("role") != "agent":
            continue
        where = f"call.transcript_object[{index}]"
        times = []
        for word_index, word in enumerate(items(utterance, "words", where)):
            if type(word) is not dict:
                raise invalid(f"{where}.words[{word_index}] must be an object")
            for key in ("start", "end"):
                moment = number(word, key, f"{where}.words[{word_index}]")
                if moment is not None:
                    times.append(moment)
        if times and max(times) > min(times):
            spoken.append(max(times) - min(times))
    return spoken


def _values(parent: JsonObject, key: str, where: str = "call.latency") -> list[float]:
    """``parent[key].values[]``: numbers >= 0."""
    section = obj(parent, key, where)
    values = items(section, "values", f"{where}.{key}")
    for index, value in enumerate(values):
        if type(value) not in (int, float) or not value >= 0 or value == float("inf"):
            raise invalid(f"{where}.{key}.values[{index}] must be a finite number >= 0")
    return [float(v) for v in values]


def _costs(call_cost: JsonObject, used: list[str]) -> tuple[dict[str, float], int]:
    """USD per service from ``product_costs[].cost`` (cents), or ``combined_cost`` as the platform's, and how many
    products the table does not know.

    Retell's bill is the call's whole cost, zero included: a service whose usage is reported but that has no
    product of its own is booked at $0, so its usage is never priced on top of the bill.
    """
    by_service: dict[str, float] = {}
    unknown = 0
    products = items(call_cost, "product_costs", "call.call_cost")
    for index, item in enumerate(products):
        where = f"call.call_cost.product_costs[{index}]"
        if type(item) is not dict:
            raise invalid(f"{where} must be an object")
        product = text(item, "product", where, required=True)
        cents = number(item, "cost", where, required=True)
        service, known = service_of_product(product)
        unknown += not known
        by_service[service] = by_service.get(service, 0.0) + cents / 100.0
    if not products:
        combined = number(call_cost, "combined_cost", "call.call_cost")
        if combined is not None:
            by_service["platform"] = combined / 100.0
    if by_service:
        for service in used:
            by_service.setdefault(service, 0.0)
    return by_service, unknown


_HANDLERS: dict[str, Handler] = {
    "call_started": _call_started,
    "call_ended": _call_ended,
    "call_analyzed": _call_analyzed,
}
