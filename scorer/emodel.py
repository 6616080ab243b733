"""The ITU-T G.107 (06/2015) E-model: R = Ro - Is - Id - Ie,eff + A, and R mapped to MOS.

Every term is computed as clause 7 of the Recommendation writes it, from the
parameters of ``EModel`` (G.107's default values unless configured) and the media
transport of one call (round-trip time, jitter, packet loss and its burstiness,
codec).  The agent's turn latency is conversational, not transmission, delay and
never enters ``Id``.

Delays: the absolute one-way delay Ta is half the RTT plus the jitter buffer, the
packetization and the codec's look-ahead; the talker echo path is as long as the
mouth-to-ear path (T = Ta) and the listener echo loop goes there and back (Tr = 2 Ta).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from voice_monitoring.scorer.scoring_parameters import DEFAULTS, Codec, EModel

# A one-way delay beyond this is no longer a line (R is 0 long before it); longer reports are read as this.
MAX_ONE_WAY_DELAY_SECONDS = 60.0


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
    one_way_delay_seconds: float  # Ta
    basic_signal_to_noise: float  # Ro
    simultaneous_impairment: float  # Is
    talker_echo_impairment: float  # Idte
    listener_echo_impairment: float  # Idle
    pure_delay_impairment: float  # Idd
    equipment_impairment: float  # Ie,eff
    codec: str

    @property
    def delay_impairment(self) -> float:
        """Id = Idte + Idle + Idd."""
        return self.talker_echo_impairment + self.listener_echo_impairment + self.pure_delay_impairment


def _lg(x: float) -> float:
    return math.log10(x)


def _power_sum(*levels_db: float) -> float:
    """The level of the power sum of levels in dB: 10 lg (sum 10^(L/10))."""
    return 10.0 * _lg(sum(10.0 ** (level / 10.0) for level in levels_db))


@dataclass(frozen=True)
class _Terms:
    """What does not depend on the call: G.107 clause 7.2, Iolr and Iq of 7.3, and the constants of 7.4."""

    no: float  # total noise power, dBm0p
    ro: float
    iolr: float
    iq: float
    roe: float  # -1.5 (No - RLR)
    sidetone_power: float  # 10^(-STMR/10)
    echo_power: float  # 10^(-TELR/10)
    telr: float
    rle_scale: float  # 10.5 (WEPL + 7)
    mt_ms: float
    s: float  # 6 sT

    @classmethod
    def of(cls, p: EModel) -> _Terms:
        olr = p.slr + p.rlr
        lstr = p.stmr + p.dr
        pre = p.pr + 10.0 * _lg(1.0 + 10.0 ** ((10.0 - lstr) / 10.0))  # room noise at the receive side, effective
        nor = p.rlr - 121.0 + pre + 0.008 * (pre - 35.0) ** 2
        nos = p.ps - p.slr - p.ds - 100.0 + 0.004 * (p.ps - olr - p.ds - 14.0) ** 2
        nfo = p.nfor + p.rlr
        no = _power_sum(p.nc, nos, nor, nfo)
        ro = 15.0 - 1.5 * (p.slr + no)
        xolr = olr + 0.2 * (64.0 + no - p.rlr)
        iolr = 20.0 * ((1.0 + (xolr / 8.0) ** 8) ** (1.0 / 8.0) - xolr / 8.0)
        q = 37.0 - 15.0 * _lg(p.qdu)
        g = 1.07 + 0.258 * q + 0.0602 * q * q
        y = (ro - 100.0) / 15.0 + 46.0 / 8.4 - g / 9.0
        z = 46.0 / 30.0 - g / 40.0
        iq = 15.0 * _lg(1.0 + 10.0**y + 10.0**z)
        return cls(
            no,
            ro,
            iolr,
            iq,
            roe=-1.5 * (no - p.rlr),
            sidetone_power=10.0 ** (-p.stmr / 10.0),
            echo_power=10.0 ** (-p.telr / 10.0),
            telr=p.telr,
            rle_scale=10.5 * (p.wepl + 7.0),
            mt_ms=p.minimum_delay_seconds * 1000.0,
            s=6.0 * p.delay_sensitivity,
        )


@functools.lru_cache(maxsize=8)
def _terms(p: EModel) -> _Terms:
    """The call-independent terms, computed once per parameter set."""
    return _Terms.of(p)


def _sidetone_impairment(k: _Terms, t_ms: float) -> float:
    """Ist, with the talker echo of delay T masking the sidetone (STMRo)."""
    stmro = -10.0 * _lg(k.sidetone_power + math.exp(-t_ms / 4.0) * k.echo_power)
    return (
        12.0 * math.pow(1.0 + ((stmro - 13.0) / 6.0) ** 8, 1.0 / 8.0)
        - 28.0 * math.pow(1.0 + ((stmro + 1.0) / 19.4) ** 35, 1.0 / 35.0)
        - 13.0 * math.pow(1.0 + ((stmro - 3.0) / 33.0) ** 13, 1.0 / 13.0)
        + 29.0
    )


def _talker_echo_impairment(k: _Terms, t_ms: float) -> float:
    """Idte: the talker's own voice coming back after T ms, TELR dB down."""
    terv = k.telr - 40.0 * _lg((1.0 + t_ms / 10.0) / (1.0 + t_ms / 150.0)) + 6.0 * math.exp(-0.3 * t_ms**2)
    d = k.roe - (80.0 + 2.5 * (terv - 14.0))  # Roe - Re
    return (d / 2.0 + math.sqrt(d * d / 4.0 + 100.0) - 1.0) * (1.0 - math.exp(-t_ms))


def _listener_echo_impairment(k: _Terms, tr_ms: float) -> float:
    """Idle: the listener hearing the far end twice, WEPL dB down after a round trip of Tr ms."""
    d = k.ro - k.rle_scale * math.pow(tr_ms + 1.0, -0.25)  # Ro - Rle
    return d / 2.0 + math.sqrt(d * d / 4.0 + 169.0)


def _pure_delay_impairment(k: _Terms, ta_ms: float) -> float:
    """Idd: 0 up to mT of absolute delay Ta, then growing with sensitivity sT."""
    if ta_ms <= k.mt_ms:
        return 0.0
    x = _lg(ta_ms / k.mt_ms) / _lg(2.0)
    s = k.s
    return 25.0 * (math.pow(1.0 + math.pow(x, s), 1.0 / s) - 3.0 * math.pow(1.0 + math.pow(x / 3.0, s), 1.0 / s) + 2.0)


def pure_delay_impairment(p: EModel, ta_ms: float) -> float:
    return _pure_delay_impairment(_terms(p), ta_ms)


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


def _plausible(value: float | None, default: float, upper: float) -> float:
    """A transport report as a number the formulas can take: missing or impossible reads as ``default``."""
    if value is None or not math.isfinite(value) or value < 0:
        return default
    return min(value, upper)


def one_way_delay(t: Transport, params: EModel, codec: Codec) -> float:
    """Mouth-to-ear delay Ta, s: half the RTT, the jitter buffer, and the codec's packetization and look-ahead."""
    rtt = _plausible(t.rtt_seconds, 0.0, 2 * MAX_ONE_WAY_DELAY_SECONDS)
    jitter = _plausible(t.jitter_seconds, 0.0, MAX_ONE_WAY_DELAY_SECONDS)
    jitter_buffer = max(params.jitter_buffer_min_seconds, params.jitter_buffer_factor * jitter)
    ta = rtt / 2.0 + jitter_buffer + codec.packet_seconds + codec.lookahead_seconds
    return min(ta, MAX_ONE_WAY_DELAY_SECONDS)


def estimate_at(params: EModel, ta_seconds: float, ie_eff: float, codec_name: str) -> Estimate:
    """R and MOS for an absolute one-way delay Ta and an effective equipment impairment Ie,eff."""
    ta_ms = ta_seconds * 1000.0
    terms = _terms(params)
    is_ = terms.iolr + _sidetone_impairment(terms, ta_ms) + terms.iq
    idte = _talker_echo_impairment(terms, ta_ms)
    idle = _listener_echo_impairment(terms, 2.0 * ta_ms)
    idd = _pure_delay_impairment(terms, ta_ms)
    r = terms.ro - is_ - (idte + idle + idd) - ie_eff + params.advantage
    r = min(max(r, 0.0), 100.0) if math.isfinite(r) else 0.0
    return Estimate(r, r_to_mos(r), ta_seconds, terms.ro, is_, idte, idle, idd, ie_eff, codec_name)


def estimate(t: Transport, params: EModel = DEFAULTS.emodel) -> Estimate:
    codec_name = params.codec_name(t.codec)
    codec = params.codecs[codec_name]
    loss = _plausible(t.packet_loss_ratio, 0.0, 1.0)
    burst = _plausible(t.burst_ratio, 1.0, 1e6)
    return estimate_at(params, one_way_delay(t, params, codec), equipment_impairment(loss, burst, codec), codec_name)
