"""What simulated calls look like: providers, conversation kinds, the validation matrix and fault scenarios."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Provider:
    name: str
    pipeline: str
    # median seconds of each turn component; None where the pipeline has no such stage
    stt: float | None
    llm_ttft: float
    tts_ttfb: float | None
    endpointing: float
    network: float
    vendors: dict[str, tuple[str, str | None]] = field(
        default_factory=dict
    )  # service -> (provider, model) for usage events
    reports_cost: bool = False  # whether the engine sends its own cost events (else the exporter prices usage)


PROVIDERS = {
    "deepgram": Provider(
        "deepgram",
        "cascade",
        stt=0.18,
        llm_ttft=0.32,
        tts_ttfb=0.12,
        endpointing=0.20,
        network=0.04,
        vendors={"stt": ("deepgram", None), "llm": ("openai", "gpt-4o-mini"), "tts": ("elevenlabs", None)},
    ),
    "openai_realtime": Provider(
        "openai_realtime",
        "realtime",
        stt=None,
        llm_ttft=0.42,
        tts_ttfb=None,
        endpointing=0.18,
        network=0.04,
        vendors={"llm": ("openai_realtime", "gpt-4o-realtime")},
        reports_cost=True,
    ),
}


@dataclass(frozen=True)
class Kind:
    """A kind of conversation, as the validation matrix names them."""

    name: str
    duration: float  # seconds
    user_speech: tuple[float, float]
    agent_speech: tuple[float, float]
    llm_extra: float = 0.0  # added to the LLM time to first token (longer prompts)
    barge_in_chance: float = 0.0
    false_interruption_chance: float = 0.0
    underflow_chance: float = 0.0  # per turn
    rms_spread_db: float = 1.0
    vad_confidence: tuple[float, float] = (0.85, 0.98)
    packet_loss: float = 0.001


KINDS = {
    "simple_qa": Kind("simple_qa", 30, (1.5, 3.0), (2.0, 4.0)),
    "complex_conversation": Kind(
        "complex_conversation", 60, (2.5, 5.0), (4.0, 7.0), llm_extra=0.12, underflow_chance=0.05, rms_spread_db=1.5
    ),
    "noisy_background": Kind(
        "noisy_background",
        30,
        (2.0, 4.0),
        (2.0, 4.0),
        false_interruption_chance=0.35,
        underflow_chance=0.15,
        rms_spread_db=3.5,
        vad_confidence=(0.45, 0.75),
        packet_loss=0.01,
    ),
    "barge_in_test": Kind("barge_in_test", 30, (1.5, 3.0), (3.0, 5.0), barge_in_chance=0.6),
}

# The seed plan's validation matrix: (kind, lowest acceptable quality score), played for both providers.
MATRIX = (
    ("simple_qa", 90),
    ("complex_conversation", 85),
    ("noisy_background", 75),
    ("barge_in_test", 80),
)

# Normal traffic mixes the kinds with these weights and random durations.
TRAFFIC_MIX = (("simple_qa", 0.45), ("complex_conversation", 0.35), ("noisy_background", 0.1), ("barge_in_test", 0.1))
TENANTS = ("acme", "globex", "initech")
END_REASONS = (
    ("caller hung up", 0.7),
    ("agent_hangup", 0.2),
    ("transferred to human", 0.05),
    ("silence timeout", 0.03),
    ("pipeline error", 0.02),
)
WORKERS = ("worker-1", "worker-2", "worker-3")


@dataclass(frozen=True)
class Fault:
    name: str
    description: str
    provider: str = "deepgram"  # the provider whose calls it affects
    felt: bool = True  # whether callers notice it (simulated feedback turns negative on the calls it touched)


SCENARIOS = {
    f.name: f
    for f in (
        Fault("latency_spike", "the LLM behind deepgram calls answers 6x slower (turn p95 well above 2 s)"),
        Fault("underflow_storm", "deepgram calls' playback buffer underflows several times a second"),
        Fault(
            "provider_outage", "deepgram's STT is down: health reports it down, requests time out, calls end in error"
        ),
        Fault("circuit_breaker_open", "the deepgram STT circuit breaker opens", felt=False),
        Fault("codec_mismatch", "deepgram calls run with a misaligned codec and sample rate"),
        Fault("memory_pressure", "worker-1 runs at 92% of its memory limit", felt=False),
        Fault("cost_spike", "deepgram calls use a large model with huge prompts (cost per minute > $0.20)", felt=False),
    )
}

# Simulated caller feedback: how often a call is rated, the chance a rating is negative on a call a felt fault
# touched and on any other call (the noise), and the scales the ratings come on, by source.
FEEDBACK_SHARE = 0.75
NEGATIVE_WHEN_FAULTED = 0.9
NEGATIVE_OTHERWISE = 0.1
NEGATIVE_AT_RANDOM = 0.3  # feedback="random": the same chance whatever happened on the call
FEEDBACK_DELAY_SECONDS = (5.0, 90.0)  # after the call's end, in simulated time
FEEDBACK_SOURCES = (("survey", "stars", 0.5), ("dtmf", "csat", 0.3), ("app", "thumbs", 0.2))
