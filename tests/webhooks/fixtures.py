"""Platform payloads shaped like the platforms' documented examples, timed relative to a test clock."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

VAPI_CALL_ID = "2f2c8a4e-6d1b-4c55-9e1f-6a0f1c3b7d21"
RETELL_CALL_ID = "Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6"


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def vapi_call(call_id: str = VAPI_CALL_ID) -> dict:
    return {
        "id": call_id,
        "createdAt": "2026-11-25T10:00:00.000Z",
        "updatedAt": "2026-11-25T10:02:00.000Z",
        "orgId": "6f1b6d2e-1f0a-4a47-8c1e-0a2b3c4d5e6f",
        "type": "inboundPhoneCall",
        "status": "ended",
        "metadata": {"tenant": "acme"},
    }


def vapi_status_update(now: float, status: str = "in-progress", call_id: str = VAPI_CALL_ID) -> dict:
    return {"message": {"type": "status-update", "status": status, "timestamp": now * 1000, "call": vapi_call(call_id)}}


def vapi_speech_update(now: float, role: str, status: str, call_id: str = VAPI_CALL_ID) -> dict:
    return {
        "message": {
            "type": "speech-update",
            "role": role,
            "status": status,
            "turn": 1,
            "timestamp": now * 1000,
            "call": vapi_call(call_id),
        }
    }


def vapi_user_interrupted(now: float, call_id: str = VAPI_CALL_ID) -> dict:
    return {"message": {"type": "user-interrupted", "timestamp": now * 1000, "call": vapi_call(call_id)}}


TURN_LATENCIES_MS = [
    {
        "modelLatency": 410,
        "voiceLatency": 190,
        "transcriberLatency": 160,
        "endpointingLatency": 250,
        "turnLatency": 1010,
    },
    {
        "modelLatency": 380,
        "voiceLatency": 170,
        "transcriberLatency": 150,
        "endpointingLatency": 240,
        "turnLatency": 940,
    },
    {
        "modelLatency": 620,
        "voiceLatency": 210,
        "transcriberLatency": 170,
        "endpointingLatency": 260,
        "turnLatency": 1260,
    },
]


def vapi_end_of_call_report(
    now: float,
    duration: float = 95.0,
    ended_reason: str = "assistant-forwarded-call",
    call_id: str = VAPI_CALL_ID,
) -> dict:
    ended = now - 2.0
    return {
        "message": {
            "type": "end-of-call-report",
            "timestamp": now * 1000,
            "endedReason": ended_reason,
            "startedAt": iso(ended - duration),
            "endedAt": iso(ended),
            "cost": 0.2185,
            "costs": [
                {"type": "transport", "provider": "twilio", "minutes": 1.6, "cost": 0.0136},
                {
                    "type": "transcriber",
                    "transcriber": {"provider": "deepgram", "model": "nova-2"},
                    "minutes": 1.6,
                    "cost": 0.0172,
                },
                {
                    "type": "model",
                    "model": {"provider": "openai", "model": "gpt-4o"},
                    "promptTokens": 5120,
                    "completionTokens": 310,
                    "cost": 0.0159,
                },
                {
                    "type": "voice",
                    "voice": {"provider": "11labs", "voiceId": "burt"},
                    "characters": 740,
                    "cost": 0.0918,
                },
                {"type": "vapi", "subType": "normal", "minutes": 1.6, "cost": 0.08},
            ],
            "artifact": {
                "messages": [],
                "transcript": "AI: Hello, how can I help?\nUser: I need to talk to billing.\n",
                "performanceMetrics": {
                    "turnLatencies": [dict(turn) for turn in TURN_LATENCIES_MS],
                    "numAssistantInterrupted": 2,
                    "numUserInterrupted": 0,
                },
            },
            "analysis": {"summary": "The caller asked for billing and was transferred.", "successEvaluation": "true"},
            "call": vapi_call(call_id),
        }
    }


E2E_MS = [820.0, 1130.0, 960.0, 1480.0]


def retell_call(now: float, call_id: str = RETELL_CALL_ID, duration: float = 120.0) -> dict:
    end_ms = int((now - 1.0) * 1000)
    return {
        "call_type": "phone_call",
        "from_number": "+12137771234",
        "to_number": "+12137771235",
        "direction": "inbound",
        "call_id": call_id,
        "agent_id": "oBeDLoLOeuAbiuaMFXRtDOLriTJ5tSxD",
        "agent_version": 1,
        "call_status": "ended",
        "metadata": {"tenant": "globex"},
        "start_timestamp": end_ms - int(duration * 1000),
        "end_timestamp": end_ms,
        "duration_ms": int(duration * 1000),
        "disconnection_reason": "agent_hangup",
        "transcript": "Agent: hi how are you doing?\nUser: Doing pretty well. How are you?\n",
        "latency": {
            "e2e": {
                "p50": 1045.0,
                "p90": 1380.0,
                "p95": 1430.0,
                "p99": 1470.0,
                "max": 1480.0,
                "min": 820.0,
                "num": 4,
                "values": list(E2E_MS),
            },
            "llm": {
                "p50": 420.0,
                "p90": 560.0,
                "p95": 580.0,
                "p99": 596.0,
                "max": 600.0,
                "min": 380.0,
                "num": 4,
                "values": [380.0, 450.0, 390.0, 600.0],
            },
            "tts": {
                "p50": 195.0,
                "p90": 230.0,
                "p95": 235.0,
                "p99": 239.0,
                "max": 240.0,
                "min": 180.0,
                "num": 4,
                "values": [180.0, 200.0, 190.0, 240.0],
            },
        },
        "llm_token_usage": {"values": [1200.0, 1350.0, 1500.0, 1610.0], "average": 1415.0, "num_requests": 4},
        "call_cost": {
            "product_costs": [
                {"product": "elevenlabs_tts", "unit_price": 0.1167, "cost": 14.0},
                {"product": "gpt_4o", "unit_price": 0.0833, "cost": 10.0},
                {"product": "retell_platform", "unit_price": 0.05, "cost": 6.0},
            ],
            "combined_cost": 30.0,
            "total_duration_seconds": duration,
            "total_duration_unit_price": 0.25,
        },
    }


def retell_event(event: str, call: dict) -> dict:
    if event == "call_started":
        call = {k: v for k, v in call.items() if k not in ("end_timestamp", "duration_ms", "latency", "call_cost")}
        call["call_status"] = "ongoing"
    if event == "call_analyzed":
        call = {
            **call,
            "call_analysis": {
                "call_summary": "Booked.",
                "user_sentiment": "Positive",
                "call_successful": True,
                "in_voicemail": False,
            },
        }
    return {"event": event, "call": call}


def body_of(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def retell_signature(body: bytes, api_key: str, at_seconds: float) -> str:
    stamp = str(int(at_seconds * 1000))
    digest = hmac.new(api_key.encode(), body + stamp.encode(), hashlib.sha256).hexdigest()
    return f"v={stamp},d={digest}"


def vapi_hmac_headers(body: bytes, secret: str, at_seconds: float) -> dict:
    stamp = str(int(at_seconds * 1000))
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"x-signature": digest, "x-timestamp": stamp}
