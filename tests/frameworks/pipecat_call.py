"""A Pipecat call played with real frames through a real pipeline (pipecat.tests.utils.run_test)."""

from __future__ import annotations

import asyncio

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    ErrorFrame,
    InterruptionFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    MetricsFrame,
    TranscriptionFrame,
    UserStoppedSpeakingFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.metrics.metrics import (
    LLMTokenUsage,
    LLMUsageMetricsData,
    STTUsage,
    STTUsageMetricsData,
    TTFBMetricsData,
    TTSUsageMetricsData,
)
from pipecat.pipeline.worker import PipelineParams
from pipecat.processors.filters.identity_filter import IdentityFilter
from pipecat.processors.frame_processor import FrameProcessor
from pipecat.tests.utils import SleepFrame, run_test
from pipecat.utils.errors import ErrorCategory

from voice_monitoring.client.pipecat import MonitoringObserver

LLM, STT, TTS = "OpenAILLMService#0", "DeepgramSTTService#0", "CartesiaTTSService#0"
MODEL = "gpt-4o-mini"
TURN_PAUSE = 0.3  # seconds between the user's VAD stop and the bot speaking; Pipecat adds the VAD stop_secs
STOP_SECS = 0.2
ANSWER_DELAY = 0.2  # the scripted LLM service's time to first token


def metrics(*data) -> MetricsFrame:
    return MetricsFrame(data=list(data))


def a_turn(llm_ttfb: float):
    """The frames of one user turn answered by the bot, created as they are sent (their timestamps are now)."""
    yield VADUserStartedSpeakingFrame(start_secs=0.2)
    yield SleepFrame(0.05)
    yield VADUserStoppedSpeakingFrame(stop_secs=STOP_SECS)
    yield metrics(
        TTFBMetricsData(processor=STT, value=0.15),
        STTUsageMetricsData(processor=STT, value=STTUsage(audio_seconds=2.5)),
    )
    yield UserStoppedSpeakingFrame()
    yield LLMFullResponseStartFrame()
    yield metrics(TTFBMetricsData(processor=LLM, model=MODEL, value=llm_ttfb))
    yield SleepFrame(TURN_PAUSE)
    yield metrics(TTFBMetricsData(processor=TTS, value=0.12))
    yield BotStartedSpeakingFrame()
    yield metrics(
        LLMUsageMetricsData(
            processor=LLM, model=MODEL, value=LLMTokenUsage(prompt_tokens=800, completion_tokens=40, total_tokens=840)
        ),
        TTSUsageMetricsData(processor=TTS, value=120),
    )


def frames():
    yield BotStartedSpeakingFrame()  # the greeting
    yield SleepFrame(0.05)
    yield BotStoppedSpeakingFrame()
    yield from a_turn(0.35)
    # the caller barges in while the bot speaks; the LLM, cut short, reports a TTFB that is no TTFB (pipecat#1682)
    yield VADUserStartedSpeakingFrame(start_secs=0.2)
    yield InterruptionFrame()
    yield metrics(TTFBMetricsData(processor=LLM, model=MODEL, value=0.01))
    yield SleepFrame(0.05)
    yield BotStoppedSpeakingFrame()
    yield from a_turn(0.45)
    yield BotStoppedSpeakingFrame()
    yield from a_turn(0.55)
    yield BotStoppedSpeakingFrame()
    yield ErrorFrame(error="rate limited", category=ErrorCategory.RATE_LIMIT)


def play(observer: MonitoringObserver, metrics_on: bool = True) -> None:
    params = PipelineParams(enable_metrics=metrics_on, enable_usage_metrics=metrics_on)
    # a generator: each frame is made when it is sent, so VAD timestamps are the moment it happens
    asyncio.run(run_test(IdentityFilter(), frames_to_send=frames(), observers=[observer], pipeline_params=params))


class ScriptedLLMService(FrameProcessor):
    """Answers each final transcript after ``delay`` seconds, measured by Pipecat's own metrics (TTFB, usage)."""

    def __init__(self, delay: float):
        super().__init__()
        self.delay = delay

    def can_generate_metrics(self) -> bool:
        return True

    async def process_frame(self, frame, direction):
        await super().process_frame(frame, direction)
        if not isinstance(frame, TranscriptionFrame):
            await self.push_frame(frame, direction)
            return
        await self.push_frame(LLMFullResponseStartFrame())
        await self.start_ttfb_metrics()
        await asyncio.sleep(self.delay)  # an InterruptionFrame now cancels this and stops the TTFB clock
        await self.stop_ttfb_metrics()
        await self.push_frame(LLMTextFrame("Sure."))
        await self.start_llm_usage_metrics(LLMTokenUsage(prompt_tokens=100, completion_tokens=5, total_tokens=105))
        await self.push_frame(LLMFullResponseEndFrame())


def answered_then_cut():
    yield TranscriptionFrame("what time is it", "caller", "now")
    yield SleepFrame(ANSWER_DELAY + 0.2)
    yield TranscriptionFrame("and tomorrow", "caller", "now")
    yield SleepFrame(0.05)
    yield InterruptionFrame()
    yield SleepFrame(0.2)


def play_service(observer: MonitoringObserver, metrics_on: bool = True) -> None:
    """Two requests to a Pipecat processor with real metrics; the caller interrupts the second."""
    params = PipelineParams(enable_metrics=metrics_on, enable_usage_metrics=metrics_on)
    service = ScriptedLLMService(ANSWER_DELAY)
    asyncio.run(run_test(service, frames_to_send=answered_then_cut(), observers=[observer], pipeline_params=params))
