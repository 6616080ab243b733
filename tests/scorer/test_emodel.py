"""The simplified ITU-T G.107 E-model."""

import pytest

from voice_monitoring.scorer.emodel import (
    Transport,
    delay_impairment,
    equipment_impairment,
    estimate,
    one_way_delay,
    r_to_mos,
)
from voice_monitoring.scorer.thresholds import DEFAULTS


@pytest.mark.parametrize("r,mos", [(93.2, 4.41), (90, 4.34), (80, 4.02), (70, 3.60), (60, 3.10), (50, 2.58)])
def test_r_to_mos_reference_points(r, mos):
    assert r_to_mos(r) == pytest.approx(mos, abs=0.005)


def test_mos_is_bounded_to_1_and_4_5():
    assert r_to_mos(-5) == 1.0 and r_to_mos(0) == 1.0
    assert r_to_mos(100) == 4.5 and r_to_mos(120) == 4.5


def test_a_clean_g711_path_gives_the_default_r_of_93_2_and_mos_4_41():
    e = estimate(Transport(rtt_seconds=0.06, jitter_seconds=0.002, packet_loss_ratio=0.0, codec="pcmu"))
    assert e.r_factor == pytest.approx(93.2, abs=0.05)
    assert round(e.mos, 2) == 4.41


def test_one_way_delay_is_half_rtt_plus_jitter_buffer_plus_packetization():
    params = DEFAULTS.emodel
    t = Transport(rtt_seconds=0.2, jitter_seconds=0.03, codec="g729")
    # 100 ms + 2 x 30 ms jitter buffer + 20 ms packet + 5 ms look-ahead
    assert one_way_delay(t, params, params.codec("g729")) == pytest.approx(0.185)
    # the jitter buffer never goes below its 20 ms floor
    assert one_way_delay(Transport(rtt_seconds=0.0, jitter_seconds=0.0), params, params.codec("pcmu")) == pytest.approx(
        0.04
    )


def test_delay_impairment_is_flat_to_100ms_then_grows():
    base = DEFAULTS.emodel.id_baseline
    assert delay_impairment(0.05) == base and delay_impairment(0.1) == base
    values = [delay_impairment(ms / 1000) for ms in range(100, 801, 50)]
    assert all(b > a for a, b in zip(values[1:], values[2:], strict=False))
    assert delay_impairment(0.2) - base == pytest.approx(3.04, abs=0.02)
    assert delay_impairment(0.4) - base > 10


def test_equipment_impairment_with_loss_and_burstiness():
    g711 = DEFAULTS.emodel.codec("pcmu")
    assert equipment_impairment(0.0, 1.0, g711) == 0.0
    # 1% random loss on G.711 with PLC (Bpl 25.1): 95 * 1 / (1 + 25.1)
    assert equipment_impairment(0.01, 1.0, g711) == pytest.approx(95 / 26.1)
    # the same loss in bursts hurts more
    assert equipment_impairment(0.05, 4.0, g711) > equipment_impairment(0.05, 1.0, g711)
    # a low-rate codec starts from its own impairment
    assert equipment_impairment(0.0, 1.0, DEFAULTS.emodel.codec("g729")) == 11.0


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
