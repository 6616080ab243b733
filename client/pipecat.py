"""Pipecat adapter: an observer that reports a pipeline's call to the exporter.

    from voice_monitoring.client.pipecat import MonitoringObserver
    task = PipelineTask(pipeline, params=PipelineParams(enable_metrics=True, enable_usage_metrics=True),
                        observers=[MonitoringObserver(call_id=call_id, tenant="acme")])

Tested with pipecat-ai 1.14 (see docs/integrations/pipecat.md for the mapping and the supported versions).
"""

from __future__ import annotations

import logging
import re
import time

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    CancelFrame,
    EndFrame,
    ErrorFrame,
    InterruptionFrame,
    LLMFullResponseStartFrame,
    MetricsFrame,
    StartFrame,
    UserStoppedSpeakingFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.metrics.metrics import LLMUsageMetricsData, STTUsageMetricsData, TTFBMetricsData, TTSUsageMetricsData
from pipecat.observers.base_observer import BaseObserver, FramePushed
from pipecat.processors.frame_processor import FrameDirection

from voice_monitoring.client.call import CallReporter, label
from voice_monitoring.client.sender import EventClient

log = logging.getLogger("voice_monitoring.client.pipecat")

# The service kind a processor name ends with (OpenAILLMService#0, DeepgramSTTService#1, ...).
_SERVICE_NAME = re.compile(r"^(?P<provider>.*?)(?P<kind>LLM|STT|TTS)(?:Service)?(?:#\d+)?$")
TTFB_COMPONENT = {"llm": "llm_ttft", "stt": "stt", "tts": "tts_ttfb"}
# CancelFrame is what a pipeline gets when the client disconnects (the usual way a caller hangs up).
END_REASONS = {EndFrame: "agent_hangup", CancelFrame: "user_hangup"}


def service_of(processor_name: str) -> tuple[str | None, str | None]:
    """(service kind, provider) of a processor name such as ``CartesiaTTSService#0``; (None, None) if unknown."""
    match = _SERVICE_NAME.match(processor_name or "")
    if not match:
        return None, None
    return match["kind"].lower(), label(match["provider"]) or None


class MonitoringObserver(BaseObserver):
    """Turns the frames a pipeline pushes into call, turn, latency, usage, interruption, state and error events.

    ``provider`` is the call's label (the LLM's provider when you leave it out and the first LLM metric names
    one); usage and latency events carry the provider of the service that reported them.
    """

    def __init__(
        self,
        call_id: str | None = None,
        *,
        tenant: str | None = None,
        provider: str | None = None,
        pipeline: str = "pipecat",
        transport: str | None = None,
        client: EventClient | None = None,
        **kwargs,
    ):
        super().__init__(observe_every_push=False, **kwargs)
        self.call = CallReporter(client, call_id, tenant, provider, pipeline)
        self.transport = transport
        self._user_stopped_at: float | None = None  # when the caller went silent, as Pipecat's latency observer has it
        self._turn_released_at: float | None = None
        self._bot_speaking = False
        self._user_turns = 0
        self._barge_in_at: float | None = None
        self._interrupted = False
        self._cut: set[str] = set()  # LLMs whose request an interruption may have cut short (pipecat#1682)
        self._fatal = False
        self.discarded_ttfb = 0

    async def on_push_frame(self, data: FramePushed):
        try:
            self._on_frame(data.frame, data.direction)
        except Exception:  # monitoring must never break the pipeline
            log.debug("monitoring a %s failed", type(data.frame).__name__, exc_info=True)

    def _on_frame(self, frame, direction) -> None:
        call = self.call
        if isinstance(frame, StartFrame):
            self._check_metrics_enabled(frame)
            call.start(self.transport)
        elif isinstance(frame, MetricsFrame):
            for item in frame.data:
                self._on_metrics(item)
        elif isinstance(frame, ErrorFrame):
            self._on_error(frame)
        elif isinstance(frame, EndFrame | CancelFrame):
            self._settle_barge_in()
            call.end("error" if self._fatal else END_REASONS[type(frame)])
        elif direction != FrameDirection.DOWNSTREAM:
            return
        elif isinstance(frame, VADUserStartedSpeakingFrame):
            self._user_stopped_at = self._turn_released_at = None
            if self._bot_speaking and self._barge_in_at is None:
                self._barge_in_at = frame.timestamp - frame.start_secs
            call.set_state("listening")
        elif isinstance(frame, VADUserStoppedSpeakingFrame):
            self._user_stopped_at = frame.timestamp - frame.stop_secs
            self._user_turns += 1
            call.set_state("processing")
        elif isinstance(frame, UserStoppedSpeakingFrame):
            if self._user_stopped_at is not None:
                self._turn_released_at = time.time()
        elif isinstance(frame, InterruptionFrame):
            self._cut.add("llm")
            if self._bot_speaking:
                self._interrupted = True
        elif isinstance(frame, LLMFullResponseStartFrame):
            self._cut.discard("llm")
        elif isinstance(frame, BotStartedSpeakingFrame):
            self._bot_speaking = True
            now = time.time()
            if self._user_stopped_at is not None:
                endpointing = self._turn_released_at - self._user_stopped_at if self._turn_released_at else None
                call.turn(now - self._user_stopped_at, endpointing_seconds=endpointing)
                self._user_stopped_at = self._turn_released_at = None
            call.set_state("speaking" if self._user_turns else "greeting")
        elif isinstance(frame, BotStoppedSpeakingFrame):
            self._bot_speaking = False
            self._settle_barge_in()
            call.set_state("listening")

    def _settle_barge_in(self) -> None:
        """A barge-in is reported once the bot has stopped: the reaction is caller speech to bot silence."""
        if self._interrupted:
            reaction = time.time() - self._barge_in_at if self._barge_in_at is not None else None
            self.call.interruption("barge_in", reaction)
        self._interrupted = False
        self._barge_in_at = None

    def _on_metrics(self, item) -> None:
        kind, provider = service_of(item.processor)
        if kind is None:
            return
        if self.call.labels["provider"] is None and kind == "llm":
            self.call.labels["provider"] = provider
        if isinstance(item, TTFBMetricsData):
            if kind in self._cut:
                # The TTFB of a request an interruption cut short is the time to the cut, not to a first byte.
                self._cut.discard(kind)
                self.discarded_ttfb += 1
                return
            self.call.latency(TTFB_COMPONENT[kind], item.value, provider, item.model)
        elif isinstance(item, LLMUsageMetricsData):
            usage = item.value
            self.call.usage("llm", "tokens_in", usage.prompt_tokens, provider, item.model)
            self.call.usage("llm", "tokens_out", usage.completion_tokens, provider, item.model)
        elif isinstance(item, TTSUsageMetricsData):
            self.call.usage("tts", "characters", item.value, provider, item.model)
        elif isinstance(item, STTUsageMetricsData):
            self.call.usage("stt", "audio_seconds", item.value.audio_seconds, provider, item.model)

    def _on_error(self, frame: ErrorFrame) -> None:
        name = getattr(frame.processor, "name", None) or ""
        kind, provider = service_of(name)
        category = getattr(frame.category, "value", None) or ("fatal" if frame.fatal else "error")
        self._fatal = self._fatal or bool(frame.fatal)
        self.call.error(kind or label(name.split("#")[0]) or "pipeline", category, kind, provider)

    def _check_metrics_enabled(self, frame: StartFrame) -> None:
        # Read the fields directly: their attribute access is deprecated in Pipecat 1.8+ and warns.
        fields = vars(frame)
        off = [name for name in ("enable_metrics", "enable_usage_metrics") if not fields.get(name)]
        if off:
            log.warning(
                "PipelineParams(%s) is off: the exporter gets no %s from this pipeline",
                ", ".join(f"{name}=True" for name in off),
                " and no ".join(
                    {"enable_metrics": "latencies", "enable_usage_metrics": "usage or cost"}[n] for n in off
                ),
            )
