"""The scorer's tunable numbers: penalty curves, bands, gates and E-model parameters.

Defaults live here; ``load`` lays a YAML or JSON file over them.  A file names
only what it changes, and an unknown key is an error rather than a silent no-op.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml


class ThresholdsError(ValueError):
    pass


@dataclass(frozen=True)
class Curve:
    """A penalty that is 0 up to ``start``, ``maximum`` from ``full`` on, and smooth in between."""

    start: float
    full: float
    maximum: float

    def __post_init__(self) -> None:
        if not self.full > self.start:
            raise ThresholdsError(f"a curve's full ({self.full}) must be above its start ({self.start})")
        if self.maximum < 0:
            raise ThresholdsError(f"a curve's maximum must not be negative ({self.maximum})")


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
    """Conditions a call must also meet to be in a band, whatever its score."""

    excellent_p95_seconds: float = 1.0
    excellent_max_underflows: float = 0.0
    good_p95_seconds: float = 2.0
    fair_p95_seconds: float = 3.0


@dataclass(frozen=True)
class Codec:
    ie: float  # equipment impairment factor of the codec
    bpl: float  # packet-loss robustness factor
    packet_seconds: float  # audio per packet (packetization delay)
    lookahead_seconds: float = 0.0


DEFAULT_CODECS: dict[str, Codec] = {
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


@dataclass(frozen=True)
class EModel:
    ro: float = 94.77  # basic signal-to-noise ratio at G.107 default values
    is_: float = 1.41  # simultaneous impairment at default values
    id_baseline: float = 0.15  # talker/listener echo impairment at default values
    advantage: float = 0.0  # A: expectation factor (0 for wired telephony)
    jitter_buffer_factor: float = 2.0  # jitter buffer delay as a multiple of interarrival jitter
    jitter_buffer_min_seconds: float = 0.02
    default_codec: str = "pcmu"
    codecs: dict[str, Codec] = field(default_factory=lambda: dict(DEFAULT_CODECS))

    def codec(self, name: str | None) -> Codec:
        if name is not None:
            found = self.codecs.get(name.lower())
            if found is not None:
                return found
        return self.codecs[self.default_codec]


@dataclass(frozen=True)
class Thresholds:
    min_turns: int = 3
    min_agent_minutes: float = 0.5  # floor of the underflow-rate denominator
    penalties: Penalties = field(default_factory=Penalties)
    gates: Gates = field(default_factory=Gates)
    emodel: EModel = field(default_factory=EModel)


DEFAULTS = Thresholds()


def _number(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ThresholdsError(f"{where} must be a number, not {value!r}")
    return float(value)


def _mapping(where: str, value: Any) -> dict:
    if not isinstance(value, dict):
        raise ThresholdsError(f"{where} must be a mapping")
    return value


def _overlay_numbers(where: str, base, data: dict, rename: dict[str, str] | None = None):
    rename = rename or {}
    known = {f.name for f in fields(base)}
    changes = {}
    for key, value in _mapping(where, data).items():
        attr = rename.get(key, key)
        if attr not in known:
            raise ThresholdsError(f"unknown key {where}.{key}")
        changes[attr] = _number(f"{where}.{key}", value)
    return replace(base, **changes)


def _overlay_penalties(base: Penalties, data: Any) -> Penalties:
    changes = {}
    for name, curve in _mapping("penalties", data).items():
        current = getattr(base, name, None)
        if not isinstance(current, Curve):
            raise ThresholdsError(f"unknown penalty factor {name!r}")
        changes[name] = _overlay_numbers(f"penalties.{name}", current, curve, {"max": "maximum"})
    return replace(base, **changes)


def _overlay_emodel(base: EModel, data: Any) -> EModel:
    data = dict(_mapping("emodel", data))
    codecs = dict(base.codecs)
    for name, spec in _mapping("emodel.codecs", data.pop("codecs", {})).items():
        spec = _mapping(f"emodel.codecs.{name}", spec)
        current = codecs.get(name.lower())
        if current is None:
            missing = {"ie", "bpl", "packet_seconds"} - set(spec)
            if missing:
                raise ThresholdsError(f"new codec {name!r} needs {', '.join(sorted(missing))}")
            current = Codec(0.0, 1.0, 0.0)
        codecs[name.lower()] = _overlay_numbers(f"emodel.codecs.{name}", current, spec)
    default_codec = data.pop("default_codec", base.default_codec)
    if not isinstance(default_codec, str) or default_codec.lower() not in codecs:
        raise ThresholdsError(f"emodel.default_codec {default_codec!r} is not a known codec")
    updated = _overlay_numbers("emodel", base, data, {"is": "is_"})
    return replace(updated, codecs=codecs, default_codec=default_codec.lower())


def from_mapping(data: Any, base: Thresholds = DEFAULTS) -> Thresholds:
    """``base`` with the values of ``data`` (the parsed file) laid over it."""
    data = dict(_mapping("thresholds", data or {}))
    changes: dict[str, Any] = {}
    if "min_turns" in data:
        value = data.pop("min_turns")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ThresholdsError("min_turns must be a positive integer")
        changes["min_turns"] = value
    if "min_agent_minutes" in data:
        value = _number("min_agent_minutes", data.pop("min_agent_minutes"))
        if value <= 0:
            raise ThresholdsError("min_agent_minutes must be positive")
        changes["min_agent_minutes"] = value
    if "penalties" in data:
        changes["penalties"] = _overlay_penalties(base.penalties, data.pop("penalties"))
    if "bands" in data:
        raise ThresholdsError(
            "bands are not a scoring parameter: they are set once in shared/quality_bands.py, "
            "which the dashboards and alerts read too"
        )
    if "gates" in data:
        changes["gates"] = _overlay_numbers("gates", base.gates, data.pop("gates"))
    if "emodel" in data:
        changes["emodel"] = _overlay_emodel(base.emodel, data.pop("emodel"))
    if data:
        raise ThresholdsError(f"unknown keys: {', '.join(sorted(data))}")
    result = replace(base, **changes)
    g = result.gates
    if not g.excellent_p95_seconds <= g.good_p95_seconds <= g.fair_p95_seconds:
        raise ThresholdsError("gates must satisfy excellent_p95 <= good_p95 <= fair_p95")
    return result


def load(path: str | Path | None) -> Thresholds:
    """The defaults, or the defaults overlaid with a YAML (or JSON) file."""
    if path is None:
        return DEFAULTS
    text = Path(path).read_text()
    try:
        data = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ThresholdsError(f"{path}: {exc}") from None
    try:
        return from_mapping(data)
    except ThresholdsError as exc:
        raise ThresholdsError(f"{path}: {exc}") from None
