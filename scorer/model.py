"""The call quality score: 100 minus six capped penalties, held inside the band its gates allow.

Pure functions of a call's inputs and the scoring parameters; ``docs/quality-score.md``
describes every curve.
"""

from __future__ import annotations

from dataclasses import dataclass

from voice_monitoring.scorer.scoring_parameters import DEFAULTS, Curve, ScoringParameters
from voice_monitoring.shared import quality_bands
from voice_monitoring.shared.quality_bands import QUALITY_BANDS

FACTORS = ("turn_latency", "underflows", "fallbacks", "barge_in_reaction", "codec_alignment", "rms_consistency")

POOR, FAIR, GOOD, EXCELLENT = (band.level for band in quality_bands.ALL)
BAND_NAMES = tuple(band.name.lower() for band in quality_bands.ALL)


@dataclass(frozen=True)
class CallInputs:
    """What the exporter's per-call series say about one call."""

    turns: int
    turn_response_p95_seconds: float | None = None
    agent_speech_seconds: float = 0.0
    underflows: float = 0.0
    fallbacks: float = 0.0
    barge_ins: float = 0.0
    barge_in_p95_seconds: float | None = None
    codec_alignment_ratio: float | None = None
    rms_spread_db: float | None = None


@dataclass(frozen=True)
class Assessment:
    """A call's score and why; ``score`` and ``band`` are None while data is insufficient."""

    insufficient_data: bool
    score: float | None  # 100 minus the penalties, capped at the top of the band the gates allow
    band: int | None  # the band of ``score``
    score_band: int | None  # the band of the penalties alone (``uncapped_score``)
    gate_band: int | None  # the best band the gates allow
    values: dict[str, float]  # the measure each curve was applied to
    penalties: dict[str, float]
    uncapped_score: float | None = None  # 100 minus the penalties

    @property
    def gate_points(self) -> float:
        """What the gate cap took off the score, beside the six penalties."""
        if self.score is None or self.uncapped_score is None:
            return 0.0
        return self.uncapped_score - self.score


def smoothstep(curve: Curve, x: float) -> float:
    """The curve's penalty at ``x``: 0 up to start, maximum from full on, C1-smooth and monotone between."""
    if x <= curve.start:
        return 0.0
    if x >= curve.full:
        return curve.maximum
    t = (x - curve.start) / (curve.full - curve.start)
    return curve.maximum * t * t * (3.0 - 2.0 * t)


def factor_values(inputs: CallInputs, params: ScoringParameters = DEFAULTS) -> dict[str, float]:
    """The measure each penalty curve reads; a factor with no evidence measures as harmless."""
    agent_minutes = max(inputs.agent_speech_seconds / 60.0, params.min_agent_minutes)
    return {
        "turn_latency": inputs.turn_response_p95_seconds or 0.0,
        "underflows": inputs.underflows / agent_minutes,
        "fallbacks": inputs.fallbacks / max(inputs.turns, 1),
        "barge_in_reaction": (inputs.barge_in_p95_seconds or 0.0) if inputs.barge_ins > 0 else 0.0,
        "codec_alignment": 1.0 - inputs.codec_alignment_ratio if inputs.codec_alignment_ratio is not None else 0.0,
        "rms_consistency": inputs.rms_spread_db or 0.0,
    }


def penalties(values: dict[str, float], params: ScoringParameters = DEFAULTS) -> dict[str, float]:
    return {name: smoothstep(getattr(params.penalties, name), values[name]) for name in FACTORS}


def score_band(score: float) -> int:
    return QUALITY_BANDS.of(score).level


def gate_band(inputs: CallInputs, params: ScoringParameters = DEFAULTS) -> int:
    """The best band the call's p95 latency and underflows allow."""
    g = params.gates
    p95 = inputs.turn_response_p95_seconds or 0.0
    if p95 >= g.fair_p95_seconds:
        return POOR
    if p95 >= g.good_p95_seconds:
        return FAIR
    if p95 >= g.excellent_p95_seconds or inputs.underflows > g.excellent_max_underflows:
        return GOOD
    return EXCELLENT


def assess(inputs: CallInputs, params: ScoringParameters = DEFAULTS) -> Assessment:
    """The call's score and band, which always agree: the score is capped inside the best band the gates allow."""
    values = factor_values(inputs, params)
    if inputs.turns < params.min_turns:
        return Assessment(True, None, None, None, None, values, {})
    taken = penalties(values, params)
    uncapped = max(0.0, 100.0 - sum(taken.values()))
    by_gates = gate_band(inputs, params)
    score = min(uncapped, QUALITY_BANDS.top(quality_bands.ALL[by_gates]))
    return Assessment(False, score, score_band(score), score_band(uncapped), by_gates, values, taken, uncapped)
