"""AudioMeter and PlayoutGaps on generated audio: levels, offset and clipping as the signals' maths predicts."""

from __future__ import annotations

import asyncio
import math
import time

import pytest

from tests.client.exporter_metrics import exporter_value
from voice_monitoring.client import EventClient
from voice_monitoring.client.call import CallReporter

np = pytest.importorskip("numpy")
from voice_monitoring.client.audio_meter import AudioMeter, PlayoutGaps  # noqa: E402  (it imports numpy)

FULL_SCALE = 32768


def frames(signal, rate: int, channels: int = 1, seconds_per_frame: float = 0.02):
    """``signal`` (floats, full scale 1, shape (samples,) or (samples, channels)) as int16 PCM frames."""
    pcm = np.clip(np.round(signal * FULL_SCALE), -32768, 32767).astype("<i2")
    step = int(rate * seconds_per_frame)
    return [pcm[i : i + step].tobytes() for i in range(0, len(pcm), step)]


def tone(rate: int, seconds: float, amplitude: float, hz: float = 440.0, offset: float = 0.0):
    t = np.arange(int(rate * seconds)) / rate
    return amplitude * np.sin(2 * np.pi * hz * t) + offset


def measured(signal, rate: int = 16000, channels: int = 1) -> dict:
    """What a meter makes of ``signal`` fed far faster than real time, with a budget of a whole core."""
    meter = AudioMeter("caller_in", budget=1.0)
    for frame in frames(signal, rate, channels):
        meter.feed(frame, rate, channels)
    assert meter.analysed == meter.frames
    return meter.report()


def test_a_sine_has_the_rms_of_a_sine_no_offset_and_no_clipping():
    report = measured(tone(16000, 2.0, 0.5))
    assert report["stage"] == "caller_in"
    assert report["rms"] == pytest.approx(0.5 / math.sqrt(2), rel=0.005)
    assert abs(report["dc_offset"]) < 1e-4
    assert report["clipping_ratio"] == 0


def test_an_offset_shows_as_dc_offset_and_in_the_rms():
    report = measured(tone(48000, 1.0, 0.3, offset=-0.1), rate=48000)
    assert report["dc_offset"] == pytest.approx(-0.1, abs=1e-3)
    assert report["rms"] == pytest.approx(math.sqrt(0.3**2 / 2 + 0.1**2), rel=0.005)


def test_a_sine_driven_to_twice_full_scale_clips_two_thirds_of_its_samples():
    # |2 sin x| >= 1 for a third of each half period on either side: 2/3 of the time
    report = measured(tone(16000, 2.0, 2.0, hz=50.0))
    assert report["clipping_ratio"] == pytest.approx(2 / 3, abs=0.01)
    assert report["rms"] <= 1.0


def test_uniform_noise_has_the_rms_of_uniform_noise_and_stereo_is_measured_whole():
    noise = np.random.default_rng(7).uniform(-0.25, 0.25, size=(48000, 2))
    report = measured(noise.reshape(-1), rate=48000, channels=2)
    assert report["rms"] == pytest.approx(0.25 / math.sqrt(3), rel=0.01)
    assert abs(report["dc_offset"]) < 2e-3


def test_each_report_covers_the_audio_since_the_previous_one():
    meter = AudioMeter("agent_out", budget=1.0)
    assert meter.report() is None
    for frame in frames(tone(16000, 0.5, 0.8), 16000):
        meter.feed(frame, 16000)
    loud = meter.report()
    for frame in frames(tone(16000, 0.5, 0.1), 16000):
        meter.feed(frame, 16000)
    quiet = meter.report()
    assert loud["rms"] == pytest.approx(0.8 / math.sqrt(2), rel=0.01)
    assert quiet["rms"] == pytest.approx(0.1 / math.sqrt(2), rel=0.01)
    assert meter.report() is None


def test_odd_input_is_ignored_and_never_raises():
    meter = AudioMeter("tts_out", budget=1.0)
    # a memoryview of int16 samples, as LiveKit's frame.data is: all of its bytes are read
    half_and_half = memoryview(b"\x00\x40" * 80 + b"\x00\x00" * 80).cast("h")
    for pcm in (b"", b"\x01", None, "text", half_and_half):
        meter.feed(pcm, 16000)
    report = meter.report()
    assert report["rms"] == pytest.approx(0x4000 / FULL_SCALE / math.sqrt(2))
    with pytest.raises(ValueError):
        AudioMeter("speaker")


def test_the_meter_skips_frames_to_stay_within_its_cpu_budget():
    budget = 0.0005
    meter = AudioMeter("caller_in", budget=budget)
    pcm = frames(tone(48000, 0.02, 0.5), 48000)[0]
    started = time.perf_counter()
    deadline = started + 0.5
    while time.perf_counter() < deadline:  # frames far faster than real time: the budget must hold
        meter.feed(pcm, 48000)
    elapsed = time.perf_counter() - started
    assert meter.analysed < meter.frames
    # unbounded, it would have spent most of the half second; the last frame it let in may overshoot a little
    assert meter.spent <= 1.5 * (budget * elapsed + 0.001)


def test_the_meters_report_is_an_audio_event_the_exporter_takes(exporter):
    meter = AudioMeter("caller_in", budget=1.0)
    for frame in frames(tone(16000, 1.0, 0.25, offset=0.02), 16000):
        meter.feed(frame, 16000)
    report = meter.report()
    with EventClient(exporter.url) as client:
        call = CallReporter(client, call_id="meter-1")
        call.start()
        call.audio(report)
        assert client.flush(10)
        assert client.stats()["rejected"] == 0
    assert exporter_value(exporter.url, "ai_agent_audio_rms", stage="caller_in") == pytest.approx(report["rms"])
    assert exporter_value(exporter.url, "ai_agent_audio_dc_offset", stage="caller_in") == pytest.approx(0.02, abs=1e-3)


def test_playout_gaps_count_only_dry_spells_inside_an_utterance():
    gaps = PlayoutGaps(gap_seconds=0.1)
    now = 100.0
    # an utterance handed over in real time: no gap
    for _ in range(50):
        gaps.frame(now, 0.02)
        now += 0.02
    assert gaps.take() == 0
    # a burst faster than real time buffers 1 s of audio: the next frame 0.9 s later finds the buffer still full
    for _ in range(50):
        gaps.frame(now, 0.02)
    now += 0.9
    gaps.frame(now, 0.02)
    assert gaps.take() == 0
    # the buffer ran dry 0.25 s before the next frame: one underrun; then 0.05 s short: under the threshold
    now += 0.12 + 0.02 + 0.25
    gaps.frame(now, 0.02)
    now += 0.02 + 0.05
    gaps.frame(now, 0.02)
    assert gaps.take() == 1
    assert gaps.take() == 0
    # the pause between utterances is no gap
    gaps.speech_ended()
    gaps.frame(now + 5.0, 0.02)
    assert gaps.take() == 0


def test_playout_gaps_of_a_real_time_speaker_that_stalls_once():
    async def speak(gaps: PlayoutGaps):
        loop = asyncio.get_running_loop()
        start = loop.time()
        handed = 0.0
        for i in range(40):
            if i == 20:
                await asyncio.sleep(0.3)  # TTS slower than real time for a moment
                start += 0.3
            gaps.frame(loop.time(), 0.02)
            handed += 0.02
            await asyncio.sleep(max(0.0, start + handed - loop.time()))
        gaps.speech_ended()

    gaps = PlayoutGaps()
    asyncio.run(asyncio.wait_for(speak(gaps), 10))
    assert gaps.take() == 1


def test_the_playout_buffer_is_what_was_handed_and_not_yet_played():
    gaps = PlayoutGaps()
    assert gaps.queued(10.0) == 0
    for _ in range(50):  # one second of audio handed at once
        gaps.frame(10.0, 0.02)
    assert gaps.queued(10.0) == pytest.approx(1.0)
    assert gaps.queued(10.4) == pytest.approx(0.6)
    assert gaps.queued(12.0) == 0
    gaps.speech_ended()
    assert gaps.queued(10.0) == 0
