"""The events that open and close a call, as an engine posts them."""

from __future__ import annotations

from tests.exporter.clocked_exporter import Clock


def started(clock: Clock, call_id: str = "c-1", **extra) -> dict:
    return {
        "type": "call.started",
        "ts": clock.now,
        "call_id": call_id,
        "tenant": "acme",
        "provider": "deepgram",
        "pipeline": "cascade",
        "attrs": {"transport": "audiosocket"},
        **extra,
    }


def ended(clock: Clock, call_id: str = "c-1", reason: str = "caller hung up", duration: float = 60.0) -> dict:
    return {
        "type": "call.ended",
        "ts": clock.now,
        "call_id": call_id,
        "attrs": {"duration_seconds": duration, "reason": reason},
    }
