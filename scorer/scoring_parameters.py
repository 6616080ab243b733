"""The scorer's scoring parameters: penalty curves, band gates and E-model inputs.

(Not the alert thresholds of ``prometheus/thresholds.yml``, nor the bands, which
``shared/quality_bands.py`` holds for every component.)  Every class checks its own
values when it is built; ``load`` lays a YAML or JSON file over the defaults with
one typed overlay (``overlay.py``), so a file names only what it changes and an
unknown key is an error rather than a silent no-op.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from voice_monitoring.scorer.overlay import ParameterError, overlay
from voice_monitoring.shared.quality_bands import GOOD_GATE_P95_SECONDS


class ScoringParametersError(ParameterError):
    pass


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ScoringParametersError(message)


def _finite(obj: object) -> None:
    for name, value in vars(obj).items():
        if isinstance(value, float | int):
            _require(math.isfinite(value), f"{name} must be a finite number, not {value!r}")


@dataclass(frozen=True)
class Curve:
    """A penalty that is 0 up to ``start``, ``maximum`` from ``full`` on, and smooth in between."""

    start: float
    full: float
    maximum: float = field(metadata={"key": "max"})

    def __post_init__(self) -> None:
        _finite(self)
        _require(self.full > self.start, f"a curve's full ({self.full:g}) must be above its start ({self.start:g})")
        _require(self.maximum >= 0, f"a curve's max must not be negative ({self.maximum:g})")


@dataclass(frozen=True)
class Penalties:
    turn_latency: Curve = Curve(0.5, 3.0, 30.0)  # p95 turn response, seconds
    underflows: Curve = Curve(0.0, 10.0, 20.0)  # underflows per minute of agent speech
    fallbacks: Curve = Curve(0.0, 0.3, 15.0)  # streaming fallbacks per turn
    barge_in_reaction: Curve = Curve(0.2, 1.0, 15.0)  # p95 barge-in reaction, seconds
    codec_alignment: Curve = Curve(0.0, 0.5, 10.0)  # fraction of codec checks misaligned
    rms_consistency: Curve = Curve(3.0, 12.0, 10.0)  # spread of per-turn agent level, dB


@dataclass(frozen=True)
class Gates:
    """Conditions a call must also meet to be in a band, whatever its penalties."""

    excellent_p95_seconds: float = 1.0
    excellent_max_underflows: float = 0.0
    good_p95_seconds: float = GOOD_GATE_P95_SECONDS
    fair_p95_seconds: float = 3.0

    def __post_init__(self) -> None:
        _finite(self)
        _require(
            0 < self.excellent_p95_seconds <= self.good_p95_seconds <= self.fair_p95_seconds,
            "gates must satisfy 0 < excellent_p95_seconds <= good_p95_seconds <= fair_p95_seconds",
        )
        _require(self.excellent_max_underflows >= 0, "excellent_max_underflows must not be negative")


@dataclass(frozen=True)
class Codec:
    ie: float  # equipment impairment factor of the codec (G.113)
    bpl: float  # packet-loss robustness factor (G.113)
    packet_seconds: float  # audio per packet (packetization delay)
    lookahead_seconds: float = 0.0

    def __post_init__(self) -> None:
        _finite(self)
        _require(0 <= self.ie < 95, f"a codec's ie must be in [0, 95), not {self.ie:g}")
        _require(self.bpl > 0, f"a codec's bpl must be positive, not {self.bpl:g}")
        _require(
            self.packet_seconds >= 0 and self.lookahead_seconds >= 0, "a codec's packet and look-ahead must be >= 0"
        )


DEFAULT_CODECS: Mapping[str, Codec] = MappingProxyType(
    {
        "pcmu": Codec(0.0, 25.1, 0.020),
        "pcma": Codec(0.0, 25.1, 0.020),
        "g711": Codec(0.0, 25.1, 0.020),
        "g722": Codec(0.0, 25.1, 0.020),
        "g729": Codec(11.0, 19.0, 0.020, 0.005),
        "g723": Codec(15.0, 16.1, 0.030, 0.0075),
        "ilbc": Codec(11.0, 32.0, 0.030, 0.005),
        "opus": Codec(0.0, 20.0, 0.020, 0.0065),
        "slin": Codec(0.0, 25.1, 0.020),
    }
)


@dataclass(frozen=True)
class EModel:
    """The ITU-T G.107 (06/2015) parameters the scorer cannot observe, at the standard's default values.

    Loudness ratings and noise levels describe the terminals and the room: a voice
    engine reports none of them, so the defaults stand for a standard handset in a
    quiet room.  The delays, loss and codec come from each call's transport reports.
    """

    slr: float = 8.0  # send loudness rating, dB
    rlr: float = 2.0  # receive loudness rating, dB
    stmr: float = 15.0  # sidetone masking rating, dB
    dr: float = 3.0  # D-value of the telephone, receive side (LSTR = STMR + Dr)
    ds: float = 3.0  # D-value of the telephone, send side
    telr: float = 65.0  # talker echo loudness rating, dB
    wepl: float = 110.0  # weighted echo path loss, dB
    nc: float = -70.0  # circuit noise referred to the 0 dBr point, dBm0p
    nfor: float = -64.0  # noise floor at the receive side, dBmp
    ps: float = 35.0  # room noise at the send side, dB(A)
    pr: float = 35.0  # room noise at the receive side, dB(A)
    qdu: float = 1.0  # quantizing distortion units
    minimum_delay_seconds: float = 0.1  # mT: the absolute delay the user starts to perceive
    delay_sensitivity: float = 1.0  # sT
    advantage: float = 0.0  # A: the expectation factor, 0 unless the users expect less (mobile, satellite)
    jitter_buffer_factor: float = 2.0  # jitter buffer delay as a multiple of interarrival jitter
    jitter_buffer_min_seconds: float = 0.02
    default_codec: str = "pcmu"
    codecs: Mapping[str, Codec] = field(default_factory=lambda: DEFAULT_CODECS, hash=False)

    def __post_init__(self) -> None:
        _finite(self)
        # G.107 writes Idte differently below 9 dB of STMR and above 20 dB; those cases are not implemented.
        _require(9 <= self.stmr <= 20, f"stmr must be within 9..20 dB, not {self.stmr:g}")
        _require(self.qdu >= 1, f"qdu must be at least 1, not {self.qdu:g}")
        _require(0 <= self.advantage <= 20, f"advantage must be within 0..20 (G.107), not {self.advantage:g}")
        _require(self.minimum_delay_seconds > 0, "minimum_delay_seconds must be positive")
        _require(0 < self.delay_sensitivity <= 10, "delay_sensitivity must be within (0, 10]")
        _require(self.jitter_buffer_factor >= 0 and self.jitter_buffer_min_seconds >= 0, "jitter buffer must be >= 0")
        _require(all(name == name.lower() for name in self.codecs), "codec names must be lower case")
        _require(self.default_codec in self.codecs, f"default_codec {self.default_codec!r} is not a known codec")

    def codec_name(self, name: str | None) -> str:
        """The codec's name in ``codecs``, or the default codec's for an unknown or missing one."""
        if name is not None and name.lower() in self.codecs:
            return name.lower()
        return self.default_codec

    def codec(self, name: str | None) -> Codec:
        return self.codecs[self.codec_name(name)]


@dataclass(frozen=True)
class ScoringParameters:
    min_turns: int = 3
    min_agent_minutes: float = 0.5  # floor of the underflow-rate denominator
    penalties: Penalties = field(default_factory=Penalties)
    gates: Gates = field(default_factory=Gates)
    emodel: EModel = field(default_factory=EModel)

    def __post_init__(self) -> None:
        _require(self.min_turns >= 1, f"min_turns must be a positive integer, not {self.min_turns}")
        _require(
            math.isfinite(self.min_agent_minutes) and self.min_agent_minutes > 0, "min_agent_minutes must be positive"
        )


DEFAULTS = ScoringParameters()


def from_mapping(data: Any, base: ScoringParameters = DEFAULTS) -> ScoringParameters:
    """``base`` with the values of ``data`` (the parsed file) laid over it."""
    if isinstance(data, Mapping) and "bands" in data:
        raise ScoringParametersError(
            "bands are not a scoring parameter: they are set once in shared/quality_bands.py, "
            "which the dashboards and alerts read too"
        )
    try:
        return overlay(base, {} if data is None else data)
    except ParameterError as exc:
        raise ScoringParametersError(str(exc)) from None


def load(path: str | Path | None) -> ScoringParameters:
    """The defaults, or the defaults overlaid with a YAML (or JSON) file."""
    if path is None:
        return DEFAULTS
    text = Path(path).read_text()
    try:
        data = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ScoringParametersError(f"{path}: {exc}") from None
    try:
        return from_mapping(data)
    except ScoringParametersError as exc:
        raise ScoringParametersError(f"{path}: {exc}") from None
