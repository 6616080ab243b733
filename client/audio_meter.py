"""What the audio itself says: levels, DC offset and clipping of a stream, and gaps inside the agent's speech.

For the framework adapters, which run where numpy is installed (both frameworks depend on it); the core client
(``sender``, ``call``) stays standard-library only.

Cost: ``AudioMeter`` analyses every frame (at most ``max_samples`` samples of each) as long as the time it has
spent analysing stays within ``budget`` of the time it has been fed (default 0.1% of one core per stream, with a
millisecond of credit); beyond that it skips frames until it is back within budget. RMS, DC offset and clipping are
averages over samples, so the frames it does analyse still estimate them without bias. On an ordinary core a
20-ms frame takes a few microseconds, well inside the budget, so every frame is analysed; ``make bench`` prints
the figure.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from voice_monitoring.client.call import AUDIO_STAGES

FULL_SCALE = 32768.0
# A sample this close to full scale counts as clipped: within 0.01 dB, to allow for dither or resampling ripple
# on audio that hit the rails.
CLIP_LEVEL = int(0.999 * 32767)
DEFAULT_BUDGET = 0.001  # of one core, per stream
BUDGET_CREDIT_SECONDS = 0.001
DEFAULT_MAX_SAMPLES = 4800  # 100 ms at 48 kHz mono
DEFAULT_GAP_SECONDS = 0.1


class AudioMeter:
    """Levels of one audio stream (int16 little-endian PCM), summed up per report."""

    def __init__(
        self,
        stage: str,
        budget: float = DEFAULT_BUDGET,
        max_samples: int = DEFAULT_MAX_SAMPLES,
        clock: Callable[[], float] = time.perf_counter,
    ):
        if stage not in AUDIO_STAGES:
            raise ValueError(f"stage must be one of {', '.join(AUDIO_STAGES)}, not {stage!r}")
        if not 0 < budget <= 1 or max_samples < 1:
            raise ValueError("budget must be in (0, 1] and max_samples at least 1")
        self.stage, self.budget, self.max_samples, self.clock = stage, budget, max_samples, clock
        self.frames = 0  # frames fed since creation
        self.analysed = 0  # of which analysed
        self.spent = 0.0  # seconds spent analysing
        self._started: float | None = None
        self._reset()

    def _reset(self) -> None:
        self._count = 0
        self._sum = 0.0
        self._squares = 0.0
        self._clipped = 0

    def feed(self, pcm: bytes | bytearray | memoryview, sample_rate: int, channels: int = 1) -> None:
        """One frame as it passes; cheap, never raises. Channels are measured together."""
        try:
            self.frames += 1
            start = self.clock()
            if self._started is None:
                self._started = start
            elif self.spent > self.budget * (start - self._started) + BUDGET_CREDIT_SECONDS:
                return
            # any buffer: bytes, or a memoryview in any format (LiveKit's frame.data is one of int16)
            samples = np.frombuffer(pcm, dtype="<i2", count=min(memoryview(pcm).nbytes // 2, self.max_samples))
            if not samples.size:
                return
            values = samples.astype(np.float64)
            self._sum += float(values.sum())
            self._squares += float(np.dot(values, values))
            self._clipped += int(np.count_nonzero(samples >= CLIP_LEVEL) + np.count_nonzero(samples <= -CLIP_LEVEL))
            self._count += samples.size
            self.analysed += 1
            self.spent += self.clock() - start
        except Exception:  # a monitoring bug must never reach the agent
            return

    def report(self) -> dict[str, Any] | None:
        """The attributes of an ``audio`` event for what was analysed since the last report; None if nothing was."""
        if not self._count:
            return None
        count = self._count
        attrs = {
            "stage": self.stage,
            "rms": min(math.sqrt(self._squares / count) / FULL_SCALE, 1.0),
            "dc_offset": max(-1.0, min(self._sum / count / FULL_SCALE, 1.0)),
            "clipping_ratio": self._clipped / count,
        }
        self._reset()
        return attrs


class PlayoutGaps:
    """Underruns in the agent's speech: the transport ran dry for more than ``gap_seconds`` inside an utterance.

    The transport plays what it is handed in real time, so the audio handed so far lasts until ``now`` of the
    first frame plus the frames' durations. A frame handed more than ``gap_seconds`` after that (TTS slower than
    real time) is a gap. The pause between utterances is not one: call ``speech_ended`` at the end of each.
    """

    def __init__(self, gap_seconds: float = DEFAULT_GAP_SECONDS):
        self.gap_seconds = gap_seconds
        self._until: float | None = None
        self._gaps = 0

    def frame(self, now: float, duration: float) -> None:
        """An output frame of ``duration`` seconds handed to the transport at ``now`` (seconds, monotonic)."""
        until = self._until
        if until is None or now > until:
            if until is not None and now - until > self.gap_seconds:
                self._gaps += 1
            until = now
        self._until = until + max(duration, 0.0)

    def queued(self, now: float) -> float:
        """Seconds of the audio handed so far that the transport has not played by ``now``: its playout buffer."""
        return max(self._until - now, 0.0) if self._until is not None else 0.0

    def speech_ended(self) -> None:
        self._until = None

    def take(self) -> int:
        """The underruns since the last take."""
        gaps, self._gaps = self._gaps, 0
        return gaps
