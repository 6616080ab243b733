"""Reading a platform's JSON payload strictly: a missing or mistyped field is a clear refusal, never a crash."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Literal, NotRequired, TypedDict, TypeGuard, overload

from voice_monitoring.exporter.events import MAX_LABEL_LENGTH, TYPES, Event, Field

# A JSON object as a platform sent it: any value under any key, each read by the functions below.
JsonObject = dict[str, Any]


class Envelope(TypedDict):
    """The envelope of every event of a platform's call."""

    call_id: str
    provider: str
    pipeline: str
    tenant: NotRequired[str]
    agent: NotRequired[str]
    agent_version: NotRequired[str]


class WebhookRefused(Exception):
    """A request the receiver refuses; nothing it carried was applied.

    ``status`` is the HTTP status of the reply, ``outcome`` the label it is counted under.
    """

    def __init__(self, status: int, outcome: str, message: str):
        super().__init__(message)
        self.status = status
        self.outcome = outcome


def invalid(message: str) -> WebhookRefused:
    return WebhookRefused(400, "invalid", message)


def obj(parent: JsonObject, key: str, where: str, required: bool = False) -> JsonObject:
    value = parent.get(key)
    if value is None:
        if required:
            raise invalid(f"{where}.{key} is required")
        return {}
    if type(value) is not dict:
        raise invalid(f"{where}.{key} must be an object")
    return value


def items(parent: JsonObject, key: str, where: str) -> list[Any]:
    value = parent.get(key)
    if value is None:
        return []
    if type(value) is not list:
        raise invalid(f"{where}.{key} must be an array")
    return value


@overload
def text(parent: JsonObject, key: str, where: str, required: Literal[True]) -> str: ...
@overload
def text(parent: JsonObject, key: str, where: str, required: bool = False) -> str | None: ...
def text(parent: JsonObject, key: str, where: str, required: bool = False) -> str | None:
    value = parent.get(key)
    if value is None:
        if required:
            raise invalid(f"{where}.{key} is required")
        return None
    if type(value) is not str or not value:
        raise invalid(f"{where}.{key} must be a non-empty string")
    return value


@overload
def number(parent: JsonObject, key: str, where: str, required: Literal[True]) -> float: ...
@overload
def number(parent: JsonObject, key: str, where: str, required: bool = False) -> float | None: ...
def number(parent: JsonObject, key: str, where: str, required: bool = False) -> float | None:
    value = parent.get(key)
    if value is None:
        if required:
            raise invalid(f"{where}.{key} is required")
        return None
    if type(value) not in (int, float) or not math.isfinite(value) or value < 0:
        raise invalid(f"{where}.{key} must be a finite number >= 0")
    return float(value)


def iso_time(parent: JsonObject, key: str, where: str) -> float | None:
    """An ISO 8601 time with its zone (Vapi's ``startedAt``) as Unix seconds."""
    value = text(parent, key, where)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise invalid(f"{where}.{key} must be an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise invalid(f"{where}.{key} must carry its time zone")
    return moment.timestamp()


def tenant_of(*metadata: object) -> str | None:
    """The tenant a team set in the call's or assistant's metadata (``{"tenant": "acme"}``), if any."""
    for md in metadata:
        value = md.get("tenant") if type(md) is dict else None
        if is_label_value(value):
            return value
    return None


def first_label(*values: object) -> str | None:
    """The first value that can become a label (a number, as Retell's agent version is, as its text)."""
    for value in values:
        if type(value) is int:
            value = str(value)
        if is_label_value(value):
            return value
    return None


def is_label_value(value: object) -> TypeGuard[str]:
    """Whether an optional free-text value can become a label; one that cannot is left out, not refused."""
    return type(value) is str and 0 < len(value) <= MAX_LABEL_LENGTH


def call_envelope(
    platform: str, call_id: str, tenant: str | None, agent: str | None = None, agent_version: str | None = None
) -> Envelope:
    """The envelope of every event of a platform's call: provider and pipeline name the platform."""
    out: Envelope = {"call_id": call_id, "provider": platform, "pipeline": platform}
    if tenant is not None:
        out["tenant"] = tenant
    if agent is not None:
        out["agent"] = agent
    if agent_version is not None:
        out["agent_version"] = agent_version
    return out


def call_started(envelope: Envelope, ts: float, transport: str | None) -> Event:
    event: Event = {"type": "call.started", "ts": ts, **envelope}
    if transport:
        event["attrs"] = {"transport": transport}
    return event


def ms_to_seconds(value: float) -> float:
    return float(value) / 1000.0


def _maximum(field: Field) -> float:
    if field.maximum is None:
        raise ValueError(f"{field.description} has no maximum")
    return field.maximum


MAX_TURN_SPEECH_SECONDS = _maximum(TYPES["turn"]["agent_speech_seconds"])


def share_agent_speech(turns: list[Event], spoken: list[float]) -> None:
    """Put the agent's utterances on a report's turn events, one per turn in order and the rest on the last:
    the call's total is exact, the split is not (reports do not tie utterances to turns)."""
    if not turns or not spoken:
        return
    for turn, seconds in zip(turns[:-1], spoken, strict=False):
        turn["attrs"]["agent_speech_seconds"] = seconds
    rest = sum(spoken[len(turns) - 1 :])
    if rest:
        turns[-1]["attrs"]["agent_speech_seconds"] = min(rest, MAX_TURN_SPEECH_SECONDS)
