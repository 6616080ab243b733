"""A simplified ITU-T G.107 E-model: R = Ro - Is - Id - Ie,eff + A, and R mapped to MOS.

Inputs are the media transport's only (round-trip time, jitter, packet loss and
its burstiness, codec).  The agent's turn latency is conversational, not
transmission, delay and never enters ``Id``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from voice_monitoring.scorer.thresholds import DEFAULTS, Codec, EModel


@dataclass(frozen=True)
class Transport:
    rtt_seconds: float | None = None
    jitter_seconds: float | None = None
    packet_loss_ratio: float | None = None
    burst_ratio: float | None = None
    codec: str | None = None

    def measured(self) -> bool:
        return self.rtt_seconds is not None or self.packet_loss_ratio is not None or self.jitter_seconds is not None


@dataclass(frozen=True)
class Estimate:
    r_factor: float
    mos: float
    one_way_delay_seconds: float
    delay_impairment: float
    equipment_impairment: float
    codec: str


def one_way_delay(t: Transport, params: EModel, codec: Codec) -> float:
    """Mouth-to-ear delay Ta: half the RTT, the jitter buffer, and the codec's packetization and look-ahead."""
    jitter_buffer = max(params.jitter_buffer_min_seconds, params.jitter_buffer_factor * (t.jitter_seconds or 0.0))
    return (t.rtt_seconds or 0.0) / 2.0 + jitter_buffer + codec.packet_seconds + codec.lookahead_seconds


def delay_impairment(ta_seconds: float, params: EModel = DEFAULTS.emodel) -> float:
    """Id: the echo baseline at default values plus G.107's Idd, which is 0 up to 100 ms of one-way delay."""
    ta_ms = ta_seconds * 1000.0
    if ta_ms <= 100.0:
        return params.id_baseline
    x = math.log10(ta_ms / 100.0) / math.log10(2.0)
    idd = 25.0 * ((1.0 + x**6) ** (1.0 / 6.0) - 3.0 * (1.0 + (x / 3.0) ** 6) ** (1.0 / 6.0) + 2.0)
    return params.id_baseline + idd


def equipment_impairment(loss_ratio: float, burst_ratio: float, codec: Codec) -> float:
    """Ie,eff = Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl), Ppl in percent."""
    ppl = 100.0 * min(max(loss_ratio, 0.0), 1.0)
    burst = max(burst_ratio, 1.0)
    return codec.ie + (95.0 - codec.ie) * ppl / (ppl / burst + codec.bpl)


def r_to_mos(r: float) -> float:
    if r <= 0:
        return 1.0
    if r >= 100:
        return 4.5
    return 1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6


def estimate(t: Transport, params: EModel = DEFAULTS.emodel) -> Estimate:
    codec = params.codec(t.codec)
    codec_name = t.codec.lower() if t.codec and t.codec.lower() in params.codecs else params.default_codec
    ta = one_way_delay(t, params, codec)
    id_ = delay_impairment(ta, params)
    ie_eff = equipment_impairment(t.packet_loss_ratio or 0.0, t.burst_ratio or 1.0, codec)
    r = params.ro - params.is_ - id_ - ie_eff + params.advantage
    r = min(max(r, 0.0), 100.0)
    return Estimate(r, r_to_mos(r), ta, id_, ie_eff, codec_name)
