"""The ITU-T G.107 (06/2015) E-model, against a reference written out step by step from the Recommendation."""

import math

import pytest

from voice_monitoring.scorer.emodel import (
    MAX_ONE_WAY_DELAY_SECONDS,
    Transport,
    equipment_impairment,
    estimate,
    estimate_at,
    one_way_delay,
    pure_delay_impairment,
    r_to_mos,
)
from voice_monitoring.scorer.scoring_parameters import DEFAULTS, EModel

# G.107 Table 1 default values, written here again so the reference does not read the implementation's.
G107_DEFAULTS = dict(
    SLR=8.0, RLR=2.0, STMR=15.0, LSTR=18.0, Ds=3.0, Dr=3.0, TELR=65.0, WEPL=110.0,
    qdu=1.0, Nc=-70.0, Nfor=-64.0, Ps=35.0, Pr=35.0, A=0.0, mT=100.0, sT=1.0,
)  # fmt: skip


def reference_r(T: float, Tr: float, Ta: float, Ie: float, Bpl: float, Ppl: float, BurstR: float) -> float:
    """R by the equations of G.107 clause 7, in the Recommendation's own names; delays in ms, Ppl in percent."""
    d = G107_DEFAULTS
    SLR, RLR, STMR, LSTR, Ds = d["SLR"], d["RLR"], d["STMR"], d["LSTR"], d["Ds"]
    TELR, WEPL, qdu, Nc, Nfor, Ps, Pr, A = d["TELR"], d["WEPL"], d["qdu"], d["Nc"], d["Nfor"], d["Ps"], d["Pr"], d["A"]
    OLR = SLR + RLR
    # 7.2 basic signal-to-noise ratio
    Nfo = Nfor + RLR
    Pre = Pr + 10 * math.log10(1 + 10 ** ((10 - LSTR) / 10))
    Nor = RLR - 121 + Pre + 0.008 * (Pre - 35) ** 2
    Nos = Ps - SLR - Ds - 100 + 0.004 * (Ps - OLR - Ds - 14) ** 2
    No = 10 * math.log10(10 ** (Nc / 10) + 10 ** (Nos / 10) + 10 ** (Nor / 10) + 10 ** (Nfo / 10))
    Ro = 15 - 1.5 * (SLR + No)
    # 7.3 simultaneous impairment
    Xolr = OLR + 0.2 * (64 + No - RLR)
    Iolr = 20 * ((1 + (Xolr / 8) ** 8) ** (1 / 8) - Xolr / 8)
    STMRo = -10 * math.log10(10 ** (-STMR / 10) + math.exp(-T / 4) * 10 ** (-TELR / 10))
    Ist = (
        12 * (1 + ((STMRo - 13) / 6) ** 8) ** (1 / 8)
        - 28 * (1 + ((STMRo + 1) / 19.4) ** 35) ** (1 / 35)
        - 13 * (1 + ((STMRo - 3) / 33) ** 13) ** (1 / 13)
        + 29
    )
    Q = 37 - 15 * math.log10(qdu)
    G = 1.07 + 0.258 * Q + 0.0602 * Q**2
    Y = (Ro - 100) / 15 + 46 / 8.4 - G / 9
    Z = 46 / 30 - G / 40
    Iq = 15 * math.log10(1 + 10**Y + 10**Z)
    Is = Iolr + Ist + Iq
    # 7.4 delay impairment
    TERV = TELR - 40 * math.log10((1 + T / 10) / (1 + T / 150)) + 6 * math.exp(-0.3 * T**2)
    Roe = -1.5 * (No - RLR)
    Re = 80 + 2.5 * (TERV - 14)
    Idte = ((Roe - Re) / 2 + math.sqrt((Roe - Re) ** 2 / 4 + 100) - 1) * (1 - math.exp(-T))
    Rle = 10.5 * (WEPL + 7) * (Tr + 1) ** -0.25
    Idle = (Ro - Rle) / 2 + math.sqrt((Ro - Rle) ** 2 / 4 + 169)
    if Ta <= d["mT"]:
        Idd = 0.0
    else:
        X = math.log10(Ta / d["mT"]) / math.log10(2)
        s = 6 * d["sT"]
        Idd = 25 * ((1 + X**s) ** (1 / s) - 3 * (1 + (X / 3) ** s) ** (1 / s) + 2)
    Id = Idte + Idle + Idd
    # 7.5 equipment impairment with packet loss
    Ie_eff = Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl)
    return Ro - Is - Id - Ie_eff + A


def test_the_standards_default_values_give_r_93_2():
    assert reference_r(0, 0, 0, 0, 1, 0, 1) == pytest.approx(93.2, abs=0.05)
    e = estimate_at(DEFAULTS.emodel, 0.0, 0.0, "pcmu")
    assert e.r_factor == pytest.approx(93.2, abs=0.05)
    assert e.basic_signal_to_noise == pytest.approx(94.77, abs=0.005)
    assert e.simultaneous_impairment == pytest.approx(1.41, abs=0.005)
    assert e.talker_echo_impairment == 0.0 and e.pure_delay_impairment == 0.0
    assert round(e.mos, 2) == 4.41


GRID = [
    (rtt, jitter, loss, burst, codec)
    for rtt in (0.0, 0.06, 0.1, 0.2, 0.38, 0.6, 1.0)
    for jitter in (0.002, 0.03)
    for loss in (0.0, 0.01, 0.05)
    for burst in (1.0, 2.5)
    for codec in ("pcmu", "g729", "opus", "ilbc")
]


@pytest.mark.parametrize("rtt,jitter,loss,burst,codec", GRID)
def test_r_matches_the_step_by_step_reference(rtt, jitter, loss, burst, codec):
    c = DEFAULTS.emodel.codec(codec)
    ta_ms = 1000 * (rtt / 2 + max(0.020, 2 * jitter) + c.packet_seconds + c.lookahead_seconds)
    # VoIP: the talker echo path is the mouth-to-ear path, the listener echo loop a round trip.
    expected = reference_r(T=ta_ms, Tr=2 * ta_ms, Ta=ta_ms, Ie=c.ie, Bpl=c.bpl, Ppl=100 * loss, BurstR=burst)
    e = estimate(Transport(rtt, jitter, loss, burst, codec))
    assert e.one_way_delay_seconds * 1000 == pytest.approx(ta_ms)
    assert e.r_factor == pytest.approx(min(max(expected, 0.0), 100.0), abs=0.5)
    assert e.mos == pytest.approx(r_to_mos(e.r_factor))


@pytest.mark.parametrize("ta_ms", [50, 60, 190, 365])
def test_echo_impairments_grow_with_delay_as_the_issue_measured(ta_ms):
    # The fixed 0.15 of the simplified model was under 2 R too optimistic at 50-60 ms, ~4 at 190 ms, ~6.5 at 365 ms.
    e = estimate_at(DEFAULTS.emodel, ta_ms / 1000, 0.0, "pcmu")
    echo = e.talker_echo_impairment + e.listener_echo_impairment
    assert echo - 0.15 == pytest.approx({50: 1.45, 60: 1.68, 190: 4.19, 365: 6.53}[ta_ms], abs=0.02)


@pytest.mark.parametrize("r,mos", [(93.2, 4.41), (90, 4.34), (80, 4.02), (70, 3.60), (60, 3.10), (50, 2.58)])
def test_r_to_mos_reference_points(r, mos):
    assert r_to_mos(r) == pytest.approx(mos, abs=0.005)


def test_mos_is_bounded_to_1_and_4_5():
    assert r_to_mos(-5) == 1.0 and r_to_mos(0) == 1.0
    assert r_to_mos(100) == 4.5 and r_to_mos(120) == 4.5


def test_one_way_delay_is_half_rtt_plus_jitter_buffer_plus_packetization():
    params = DEFAULTS.emodel
    t = Transport(rtt_seconds=0.2, jitter_seconds=0.03, codec="g729")
    # 100 ms + 2 x 30 ms jitter buffer + 20 ms packet + 5 ms look-ahead
    assert one_way_delay(t, params, params.codec("g729")) == pytest.approx(0.185)
    # the jitter buffer never goes below its 20 ms floor
    assert one_way_delay(Transport(rtt_seconds=0.0, jitter_seconds=0.0), params, params.codec("pcmu")) == pytest.approx(
        0.04
    )


def test_pure_delay_impairment_is_flat_to_100ms_then_grows():
    p = DEFAULTS.emodel
    assert pure_delay_impairment(p, 50) == 0.0 and pure_delay_impairment(p, 100) == 0.0
    values = [pure_delay_impairment(p, ms) for ms in range(100, 801, 50)]
    assert all(b > a for a, b in zip(values[1:], values[2:], strict=False))
    assert pure_delay_impairment(p, 200) == pytest.approx(3.04, abs=0.02)
    assert pure_delay_impairment(p, 400) > 10


def test_a_less_sensitive_user_minds_delay_later():
    tolerant = EModel(minimum_delay_seconds=0.15, delay_sensitivity=0.5)
    assert pure_delay_impairment(tolerant, 150) == 0.0
    assert 0 < pure_delay_impairment(tolerant, 300) < pure_delay_impairment(DEFAULTS.emodel, 300)


def test_equipment_impairment_with_loss_and_burstiness():
    g711 = DEFAULTS.emodel.codec("pcmu")
    assert equipment_impairment(0.0, 1.0, g711) == 0.0
    # 1% random loss on G.711 with PLC (Bpl 25.1): 95 * 1 / (1 + 25.1)
    assert equipment_impairment(0.01, 1.0, g711) == pytest.approx(95 / 26.1)
    # the same loss in bursts hurts more
    assert equipment_impairment(0.05, 4.0, g711) > equipment_impairment(0.05, 1.0, g711)
    # a low-rate codec starts from its own impairment
    assert equipment_impairment(0.0, 1.0, DEFAULTS.emodel.codec("g729")) == 11.0


def test_an_advantage_factor_adds_to_r_only_when_configured():
    plain = estimate(Transport(0.2, 0.01, 0.01))
    mobile = estimate(Transport(0.2, 0.01, 0.01), EModel(advantage=10))
    assert mobile.r_factor == pytest.approx(plain.r_factor + 10)


def test_loss_and_delay_lower_r_and_unknown_codecs_use_the_default():
    clean = estimate(Transport(0.05, 0.005, 0.0, 1.0, "opus"))
    lossy = estimate(Transport(0.05, 0.005, 0.05, 2.0, "opus"))
    slow = estimate(Transport(0.6, 0.005, 0.0, 1.0, "opus"))
    assert lossy.r_factor < clean.r_factor - 20
    assert slow.r_factor < clean.r_factor - 10
    assert estimate(Transport(0.05, codec="speex-9000")).codec == DEFAULTS.emodel.default_codec


def test_total_loss_bottoms_out_at_r_0_and_mos_1():
    e = estimate(Transport(2.0, 0.5, 1.0, 10.0, "g729"))
    assert e.r_factor == 0.0 and e.mos == 1.0


@pytest.mark.parametrize(
    "transport",
    [
        Transport(rtt_seconds=1e308),
        Transport(rtt_seconds=math.inf, jitter_seconds=1e308),
        Transport(rtt_seconds=0.1, jitter_seconds=math.inf, packet_loss_ratio=1e308, burst_ratio=1e308),
        Transport(rtt_seconds=math.nan, packet_loss_ratio=math.nan, burst_ratio=-3),
        Transport(rtt_seconds=-1.0, jitter_seconds=-1.0, packet_loss_ratio=-0.5),
    ],
)
def test_absurd_transport_reports_give_finite_bounded_figures(transport):
    e = estimate(transport)
    figures = [getattr(e, name) for name in vars(e) if name != "codec"] + [e.delay_impairment]
    assert all(math.isfinite(x) for x in figures), e
    assert 0.0 <= e.r_factor <= 100.0 and 1.0 <= e.mos <= 4.5
    assert e.one_way_delay_seconds <= MAX_ONE_WAY_DELAY_SECONDS
