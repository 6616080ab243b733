"""A Pipecat 1.14 pipeline with tracing on (``setup_tracing`` and ``enable_tracing=True``), exporting its spans through
the OpenTelemetry SDK's OTLP/HTTP exporter to ``argv[1]``, and monitored in-process by the adapter sending to the
exporter at ``argv[2]``; prints, as JSON, what Pipecat itself reported.

Run as a process of its own (``python -m tests.otlp.pipecat_traced URL``), as an agent is: Pipecat's tracing sets the
process's global tracer provider, once.  Three user turns: the agent answers the first, the caller barges into the
second answer, the third ends quietly.  The LLM and TTS services are Pipecat's own base classes, their methods traced
with Pipecat's own decorators, under the class names of the vendors they stand for.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    EndFrame,
    InterruptionFrame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    MetricsFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.metrics.metrics import LLMTokenUsage, LLMUsageMetricsData, TTFBMetricsData, TTSUsageMetricsData
from pipecat.observers.base_observer import BaseObserver, FramePushed
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.services.llm_service import LLMService
from pipecat.services.settings import LLMSettings, TTSSettings
from pipecat.services.tts_service import TTSService
from pipecat.utils.time import time_now_iso8601
from pipecat.utils.tracing.service_decorators import traced_llm, traced_tts
from pipecat.utils.tracing.setup import setup_tracing
from pipecat.workers.runner import WorkerRunner

from voice_monitoring.client import EventClient
from voice_monitoring.client.pipecat import MonitoringObserver

REPLIES = ("Your order ships on Friday.", "It left the warehouse this morning and should arrive soon.", "Goodbye.")
LLM_DELAYS = (0.2, 0.3, 0.25)


class OpenAILLMService(LLMService):
    """Answers each context with the next reply after a delay, measured by Pipecat's own TTFB and usage metrics."""

    def __init__(self):
        unsupported = dict.fromkeys(
            ("system_instruction", "temperature", "max_tokens", "top_p", "top_k", "frequency_penalty")
            + ("presence_penalty", "seed", "filter_incomplete_user_turns", "user_turn_completion_config")
        )
        super().__init__(settings=LLMSettings(model="gpt-4o-mini", **unsupported))
        self.requests = 0

    def can_generate_metrics(self) -> bool:
        return True

    async def process_frame(self, frame, direction):
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMContextFrame):
            await self._process_context(frame.context)
        else:
            await self.push_frame(frame, direction)

    @traced_llm
    async def _process_context(self, context):
        n = min(self.requests, len(REPLIES) - 1)
        self.requests += 1
        await self.push_frame(LLMFullResponseStartFrame())
        await self.start_ttfb_metrics()
        await asyncio.sleep(LLM_DELAYS[n])
        await self.stop_ttfb_metrics()
        await self.push_frame(LLMTextFrame(REPLIES[n]))
        prompt, completion = 80 + 40 * n, len(REPLIES[n]) // 4
        await self.start_llm_usage_metrics(
            LLMTokenUsage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)
        )
        await self.push_frame(LLMFullResponseEndFrame())


class CartesiaHttpTTSService(TTSService):
    """Synthesises silence after a first-byte delay; Pipecat bills its characters."""

    def __init__(self):
        super().__init__(
            push_start_frame=True,
            push_stop_frames=True,
            settings=TTSSettings(model="sonic-2", voice="narrator", language=None),
        )

    def can_generate_metrics(self) -> bool:
        return True

    @traced_tts
    async def run_tts(self, text: str, context_id: str):
        await self.start_tts_usage_metrics(text)
        await asyncio.sleep(0.1)
        await self.stop_ttfb_metrics()
        for _ in range(5):
            yield TTSAudioRawFrame(b"\x00" * 640, self.sample_rate, 1, context_id=context_id)


class Reported(BaseObserver):
    """What Pipecat reported: its metrics frames (TTFB, usage) by processor."""

    def __init__(self):
        super().__init__()
        self.ttfb: dict[str, list[float]] = {}
        self.tokens_in = self.tokens_out = self.characters = 0
        self.seen: set[int] = set()

    async def on_push_frame(self, data: FramePushed):
        frame = data.frame
        if not isinstance(frame, MetricsFrame) or frame.id in self.seen:
            return
        self.seen.add(frame.id)
        for item in frame.data:
            kind = "llm" if "LLM" in item.processor else "tts"
            if isinstance(item, TTFBMetricsData) and item.value > 0:
                self.ttfb.setdefault(kind, []).append(item.value)
            elif isinstance(item, LLMUsageMetricsData):
                self.tokens_in += item.value.prompt_tokens
                self.tokens_out += item.value.completion_tokens
            elif isinstance(item, TTSUsageMetricsData):
                self.characters += item.value


async def converse(worker: PipelineWorker, started: asyncio.Event) -> None:
    await asyncio.wait_for(started.wait(), 5)
    for n in range(3):
        if n != 2:  # the third turn began with the barge-in
            await worker.queue_frame(VADUserStartedSpeakingFrame())
            await worker.queue_frame(UserStartedSpeakingFrame())
        await asyncio.sleep(0.3)
        await worker.queue_frame(TranscriptionFrame(f"question {n}", "caller", time_now_iso8601(), finalized=True))
        await worker.queue_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2, timestamp=time.time()))
        await worker.queue_frame(UserStoppedSpeakingFrame())
        await worker.queue_frame(LLMContextFrame(LLMContext([{"role": "user", "content": f"question {n}"}])))
        await asyncio.sleep(LLM_DELAYS[n] + 0.3)
        await worker.queue_frame(BotStartedSpeakingFrame())
        await asyncio.sleep(0.4)
        if n == 1:  # the caller barges into the second answer: the agent stops
            await worker.queue_frame(VADUserStartedSpeakingFrame())
            await worker.queue_frame(UserStartedSpeakingFrame())
            await worker.queue_frame(InterruptionFrame())
        await worker.queue_frame(BotStoppedSpeakingFrame())
        await asyncio.sleep(0.2 if n == 0 else 2.8)  # the last turn ends by itself, after the quiet
    await worker.queue_frame(EndFrame())


async def main(endpoint: str, client: EventClient) -> dict:
    setup_tracing("pipecat-agent", exporter=OTLPSpanExporter(endpoint=endpoint, timeout=5))
    reported = Reported()
    worker = PipelineWorker(
        Pipeline([OpenAILLMService(), CartesiaHttpTTSService()]),
        params=PipelineParams(enable_metrics=True, enable_usage_metrics=True),
        observers=[reported, MonitoringObserver("pipecat-adapter-call", tenant="acme", client=client)],
        enable_tracing=True,
        conversation_id="support-call-1",
        cancel_on_idle_timeout=False,
    )
    latencies: list[float] = []
    turns: list[bool] = []
    worker._user_bot_latency_observer.add_event_handler(
        "on_latency_measured", lambda _, seconds: latencies.append(seconds)
    )
    worker.turn_tracking_observer.add_event_handler(
        "on_turn_ended", lambda _, number, duration, interrupted: turns.append(interrupted)
    )
    started = asyncio.Event()
    worker.add_event_handler("on_pipeline_started", lambda *_: started.set())
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    await asyncio.wait_for(asyncio.gather(runner.run(), converse(worker, started)), 20)
    trace.get_tracer_provider().shutdown()  # flushes the batch span processor through the OTLP exporter
    return {
        "latencies": latencies,
        "turns_interrupted": turns,
        "ttfb": reported.ttfb,
        "tokens_in": reported.tokens_in,
        "tokens_out": reported.tokens_out,
        "characters": reported.characters,
    }


if __name__ == "__main__":
    with EventClient(sys.argv[2]) as adapter_client:
        record = asyncio.run(main(sys.argv[1], adapter_client))
        assert adapter_client.flush(10)
    print(json.dumps(record))
