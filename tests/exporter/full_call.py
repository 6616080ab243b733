"""One call that sends every event type the exporter takes, for the sampling tests and the series-cost benchmark."""

from __future__ import annotations


def full_call(call_id: str, ts: float, turn_seconds: float = 0.7, provider: str = "deepgram") -> list[dict]:
    """The events of a whole call, ``call.started`` to ``call.ended``, with each event type at least once."""
    c = {"call_id": call_id}
    turn = {
        "latency_seconds": turn_seconds,
        "stt_seconds": 0.19,
        "llm_ttft_seconds": 0.33,
        "tts_ttfb_seconds": 0.12,
        "endpointing_seconds": 0.2,
        "stt_to_tts_seconds": 0.45,
        "agent_speech_seconds": 3.2,
        "interrupted": False,
    }
    return [
        {
            "type": "call.started",
            "ts": ts,
            **c,
            "tenant": "acme",
            "provider": provider,
            "pipeline": "cascade",
            "model": "gpt-4o-mini",
            "attrs": {"transport": "audiosocket", "codec": "pcmu"},
        },
        {"type": "state", "ts": ts, **c, "attrs": {"state": "listening", "tts_gating": True, "audio_capture": True}},
        *({"type": "turn", "ts": ts, **c, "attrs": turn} for _ in range(3)),
        {
            "type": "latency",
            "ts": ts,
            **c,
            "attrs": {"component": "network", "seconds": 0.045, "service": "transport", "status": "ok"},
        },
        {
            "type": "usage",
            "ts": ts,
            **c,
            "provider": "openai",
            "model": "gpt-4o-mini",
            "attrs": {"service": "llm", "unit": "tokens_in", "quantity": 812},
        },
        {"type": "cost", "ts": ts, **c, "provider": "openai", "attrs": {"service": "llm", "usd": 0.0042}},
        *(
            {
                "type": "audio",
                "ts": ts,
                **c,
                "attrs": {
                    "stage": "agent_out",
                    "underflow": 0,
                    "fallback": 0,
                    "jitter_buffer_depth": 6,
                    "codec_alignment": True,
                    "rms": rms,
                    "dc_offset": 0.001,
                    "vad_confidence": 0.93,
                },
            }
            for rms in (0.08, 0.1)
        ),
        {
            "type": "transport",
            "ts": ts,
            **c,
            "attrs": {
                "rtt_seconds": 0.052,
                "jitter_seconds": 0.006,
                "packet_loss_ratio": 0.002,
                "burst_ratio": 1.0,
                "codec": "pcmu",
                "bytes_rx": 96000,
                "bytes_tx": 88000,
                "connection_lost": False,
            },
        },
        {"type": "interruption", "ts": ts, **c, "attrs": {"kind": "barge_in", "reaction_seconds": 0.31}},
        {"type": "interruption", "ts": ts, **c, "attrs": {"kind": "false_interruption"}},
        {"type": "error", "ts": ts, **c, "provider": provider, "attrs": {"component": "stt", "kind": "timeout"}},
        {"type": "health", "ts": ts, "provider": provider, "attrs": {"service": "stt", "up": True}},
    ]


def call_end(call_id: str, ts: float, reason: str = "Caller hung up") -> dict:
    return {"type": "call.ended", "ts": ts, "call_id": call_id, "attrs": {"duration_seconds": 60.0, "reason": reason}}
