"""Short Pipecat pipelines run with real frames (pipecat.tests.utils.run_test), for what one behaviour needs; the
whole call with audio over WebRTC is in pipecat_webrtc_call.py."""

from __future__ import annotations

import asyncio

from pipecat.frames.frames import (
    EndFrame,
    InputAudioRawFrame,
    InterruptionFrame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    TranscriptionFrame,
    TTSSpeakFrame,
)
from pipecat.metrics.metrics import LLMTokenUsage
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.service_switcher import ServiceSwitcher, ServiceSwitcherStrategyFailover
from pipecat.pipeline.worker import PipelineParams, PipelineWorker, ProcessorUnusablePolicy
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameProcessor
from pipecat.tests.utils import SleepFrame, run_test
from pipecat.workers.runner import WorkerRunner

from tests.frameworks.pipecat_webrtc_call import (
    CALLER_RATE,
    FRAME_SECONDS,
    SHORT_REPLIES,
    EndpointingSTT,
    MetricsRecorder,
    ScriptedLLM,
    ToneTTS,
    tone,
)
from voice_monitoring.client import EventClient
from voice_monitoring.client.pipecat import MonitoringObserver

ANSWER_DELAY = 0.2  # the scripted LLM service's time to first token
METRICS_ON = PipelineParams(enable_metrics=True, enable_usage_metrics=True)


class RecordingClient(EventClient):
    """The event client, keeping each event the observer sent, in order: (type, attrs, envelope)."""

    def __init__(self, url: str):
        super().__init__(url)
        self.sent: list[tuple[str, dict | None, dict]] = []

    def send(self, type, call_id=None, attrs=None, ts=None, **envelope):
        self.sent.append((type, attrs, envelope))
        return super().send(type, call_id, attrs, ts, **envelope)

    def of(self, type: str) -> list[tuple[dict | None, dict]]:
        return [(attrs, envelope) for t, attrs, envelope in self.sent if t == type]


def caller_audio(speech: float, silence: float):
    """The caller's microphone as the transport hands it on: 20-ms InputAudioRawFrames of speech, then silence."""
    samples = int(CALLER_RATE * FRAME_SECONDS)
    pcm = tone(speech, CALLER_RATE).tobytes() + bytes(int(silence * CALLER_RATE) * 2)
    for offset in range(0, len(pcm) - samples * 2 + 1, samples * 2):
        yield InputAudioRawFrame(pcm[offset : offset + samples * 2], CALLER_RATE, 1)


def play_answered_question(observer: MonitoringObserver) -> MetricsRecorder:
    """STT, LLM and TTS answer one spoken question; the pipeline ends (EndFrame) with trailing caller silence the
    STT has not billed yet, which Pipecat bills as the STT stops."""
    recorder = MetricsRecorder()
    context = LLMContext([{"role": "user", "content": "where is my order?"}])

    def frames():
        yield from caller_audio(speech=0.6, silence=0.6)
        yield SleepFrame(0.1)
        yield LLMContextFrame(context)
        yield SleepFrame(2.5)
        yield from caller_audio(speech=0.0, silence=0.5)

    pipeline = Pipeline([EndpointingSTT(), ScriptedLLM(), ToneTTS()])
    asyncio.run(run_test(pipeline, frames_to_send=frames(), observers=[observer, recorder], pipeline_params=METRICS_ON))
    return recorder


def play_cached_prompts(observer: MonitoringObserver, llm: ScriptedLLM) -> MetricsRecorder:
    """The LLM answers three questions of one conversation, each request reading the previous prompt from the
    provider's cache."""
    recorder = MetricsRecorder()
    questions = ("where is my order?", "when will it arrive?", "can I change the address?")

    def frames():
        messages = []
        for question, reply in zip(questions, SHORT_REPLIES, strict=True):
            messages.append({"role": "user", "content": question})
            yield LLMContextFrame(LLMContext(list(messages)))
            yield SleepFrame(0.4)
            messages.append({"role": "assistant", "content": reply})

    asyncio.run(run_test(llm, frames_to_send=frames(), observers=[observer, recorder], pipeline_params=METRICS_ON))
    return recorder


def play_cut_tts_request(observer: MonitoringObserver) -> MetricsRecorder:
    """The TTS starts a slow request; the caller interrupts before its first byte, then a second request is answered."""
    recorder = MetricsRecorder()

    def frames():
        yield TTSSpeakFrame("Slowly, let me look that up.")
        yield SleepFrame(0.4)
        yield InterruptionFrame()
        yield SleepFrame(0.2)
        yield TTSSpeakFrame("Here it is.")
        yield SleepFrame(1.0)

    asyncio.run(
        run_test(ToneTTS(), frames_to_send=frames(), observers=[observer, recorder], pipeline_params=METRICS_ON)
    )
    return recorder


class BrokenLLM(ScriptedLLM):
    """An LLM whose provider rejects it for good at its first request, as Pipecat 1.14 has services say so."""

    async def process_frame(self, frame, direction):
        if isinstance(frame, LLMContextFrame):
            await FrameProcessor.process_frame(self, frame, direction)
            await self.push_error("the provider rejected the API key", force_treat_as_permanent=True)
            return
        await super().process_frame(frame, direction)


def play_permanent_failure(observer: MonitoringObserver) -> None:
    """The LLM fails for good; the worker's ProcessorUnusablePolicy.CANCEL cancels the pipeline."""

    async def run():
        worker = PipelineWorker(
            Pipeline([BrokenLLM()]),
            params=METRICS_ON,
            observers=[observer],
            processor_unusable_policy=ProcessorUnusablePolicy.CANCEL,
            idle_timeout_secs=None,
        )

        @worker.event_handler("on_pipeline_started")
        async def ask(worker, frame):
            await worker.queue_frame(LLMContextFrame(LLMContext([{"role": "user", "content": "hello"}])))

        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(worker)
        await asyncio.wait_for(runner.run(), 10)

    asyncio.run(run())


BACKUP_LLM_NAME = "AnthropicLLMService#0"


def play_failover(observer: MonitoringObserver) -> None:
    """A ServiceSwitcher fails over from an LLM rejected for good to a backup, under ProcessorUnusablePolicy.CANCEL;
    the backup answers the next request and the agent ends the call."""

    async def run():
        switcher = ServiceSwitcher(
            services=[BrokenLLM(), ScriptedLLM(SHORT_REPLIES, name=BACKUP_LLM_NAME)],
            strategy_type=ServiceSwitcherStrategyFailover,
        )
        worker = PipelineWorker(
            Pipeline([switcher]),
            params=METRICS_ON,
            observers=[observer],
            processor_unusable_policy=ProcessorUnusablePolicy.CANCEL,
            idle_timeout_secs=None,
        )

        def question():
            return LLMContextFrame(LLMContext([{"role": "user", "content": "hello"}]))

        @worker.event_handler("on_pipeline_started")
        async def ask(worker, frame):
            await worker.queue_frame(question())
            await asyncio.sleep(0.5)
            await worker.queue_frame(question())
            await asyncio.sleep(0.8)
            await worker.queue_frame(EndFrame())

        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(worker)
        await asyncio.wait_for(runner.run(), 10)

    asyncio.run(run())


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
