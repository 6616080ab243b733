"""Pipecat adapter: an observer that reports a pipeline's call to the exporter.

    from voice_monitoring.client.pipecat import MonitoringObserver
    worker = PipelineWorker(pipeline, params=PipelineParams(enable_metrics=True, enable_usage_metrics=True),
                            observers=[MonitoringObserver(call_id=call_id, tenant="acme")])

Tested with pipecat-ai 1.14 (see docs/integrations/pipecat.md for the mapping and the supported versions).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    CancelFrame,
    EndFrame,
    ErrorFrame,
    Frame,
    InputAudioRawFrame,
    InterruptionFrame,
    LLMFullResponseStartFrame,
    MetricsFrame,
    OutputAudioRawFrame,
    StartFrame,
    TranscriptionFrame,
    TTSSpeakFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.metrics.metrics import (
    LLMUsageMetricsData,
    MetricsData,
    STTUsageMetricsData,
    TTFBMetricsData,
    TTSUsageMetricsData,
)
from pipecat.observers.base_observer import BaseObserver, FrameProcessed, FramePushed
from pipecat.pipeline.service_switcher import ServiceSwitcher
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.llm_service import LLMService
from pipecat.services.stt_service import STTService
from pipecat.services.tts_service import TTSService
from pipecat.transports.base_input import BaseInputTransport
from pipecat.transports.base_output import BaseOutputTransport

from voice_monitoring.client import webrtc_stats
from voice_monitoring.client.call import CallReporter, label
from voice_monitoring.client.sender import EventClient
from voice_monitoring.client.vendors import pipecat_service

if TYPE_CHECKING:
    from voice_monitoring.client.audio_meter import AudioMeter, PlayoutGaps

log = logging.getLogger("voice_monitoring.client.pipecat")

TTFB_COMPONENT = {"llm": "llm_ttft", "stt": "stt", "tts": "tts_ttfb"}
# CancelFrame is what a pipeline gets when the client disconnects (the usual way a caller hangs up).
END_REASONS = {EndFrame: "agent_hangup", CancelFrame: "user_hangup"}
SERVICE_KINDS = ((STTService, "stt"), (LLMService, "llm"), (TTSService, "tts"))
# Pipecat's transports that carry the call over WebRTC (the call's transport label, unless given)
WEBRTC_TRANSPORTS = tuple(f"pipecat.transports.{name}." for name in ("smallwebrtc", "daily", "livekit", "webrtc"))
# An async callable giving a media connection's W3C statistics.
StatsSource = Callable[[], Awaitable[list[webrtc_stats.Stats]]]
PLAYOUT_FRAME_SECONDS = 0.02  # the playout buffer's depth is reported in 20-ms frames, as WebRTC sends audio
STATS_TIMEOUT = 1.0
COUNTED_RATIOS = (
    "packet_loss_ratio",
    "concealment_ratio",
)  # shares of the packets or samples of one reading  # seconds one read of the connection's statistics may take
MAX_PROCESSORS = 500  # processors walked in a pipeline


def service_of(processor_name: str) -> tuple[str | None, str | None]:
    """(service kind, provider) of a processor name such as ``CartesiaTTSService#0``; (None, None) if unknown."""
    return pipecat_service(processor_name or "")


def processors_of(root: FrameProcessor) -> list[FrameProcessor]:
    """The processors of a pipeline, nested pipelines (ParallelPipeline, ServiceSwitcher) included, in order."""
    found: list[FrameProcessor] = []
    stack = [root]
    seen: set[int] = set()
    while stack and len(found) < MAX_PROCESSORS:
        processor = stack.pop()
        if id(processor) in seen:
            continue
        seen.add(id(processor))
        found.append(processor)
        stack.extend(reversed(list(getattr(processor, "processors", None) or ())))
    return found


def stats_source(connection: object) -> StatsSource | None:
    """An async callable giving a media connection's W3C statistics, or None for a connection it cannot read.

    Takes an aiortc ``RTCPeerConnection``, a Pipecat ``SmallWebRTCConnection`` (its ``pc``) or a LiveKit
    ``rtc.Room``."""
    pc: Any = getattr(connection, "pc", connection)  # an aiortc RTCPeerConnection, if anything
    if callable(getattr(pc, "getStats", None)):

        async def aiortc_stats() -> list[webrtc_stats.Stats]:
            return webrtc_stats.from_aiortc(await pc.getStats(), pc)

        return aiortc_stats
    get_rtc_stats = getattr(connection, "get_rtc_stats", None)
    if callable(get_rtc_stats):

        async def livekit_stats() -> list[webrtc_stats.Stats]:
            return webrtc_stats.from_livekit(await get_rtc_stats())

        return livekit_stats
    return None


def transport_connection(processor: object) -> object:
    """The media connection a Pipecat transport processor holds: SmallWebRTC's peer connection, LiveKit's room."""
    client = getattr(processor, "_client", None)
    for connection in (getattr(client, "_webrtc_connection", None), getattr(client, "_room", None)):
        if connection is not None and stats_source(connection) is not None:
            return connection
    return None


def _audio_meters() -> tuple[AudioMeter, AudioMeter, PlayoutGaps] | None:
    try:
        from voice_monitoring.client.audio_meter import AudioMeter, PlayoutGaps
    except ImportError:  # numpy missing: no audio analysis, everything else works
        return None
    return AudioMeter("caller_in"), AudioMeter("agent_out"), PlayoutGaps()


class MonitoringObserver(BaseObserver):
    """Turns the frames a pipeline pushes into call, turn, latency, usage, interruption, state, error, audio,
    transport and provider health events.

    ``provider`` is the call's label (by default the vendor of the pipeline's LLM service, else of the first LLM
    that reports a metric); usage and latency events carry the provider of the service that reported them.
    ``connection`` is the media connection to read transport statistics from (an aiortc ``RTCPeerConnection``,
    a ``SmallWebRTCConnection`` or a LiveKit ``rtc.Room``); without it the pipeline's SmallWebRTC or LiveKit
    transport's is used. Statistics and audio levels are reported every ``report_interval`` seconds and at the end.
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
        connection: object = None,
        report_interval: float = 5.0,
        analyse_audio: bool = True,
        agent: str | None = None,
        agent_version: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(observe_every_push=False, **kwargs)
        self.call = CallReporter(client, call_id, tenant, provider, pipeline, agent=agent, agent_version=agent_version)
        self.transport = transport
        self.connection = connection
        self.report_interval = max(float(report_interval), 0.5)
        self._services: dict[str, tuple[str, str | None]] = {}  # processor name -> (kind, provider)
        self._switchers: dict[int, object] = {}  # id(service) -> the ServiceSwitcher it is one of
        self._processors: list[FrameProcessor] = []
        self._sink: object = None
        self._clock_offset = 0.0  # wall time minus pipeline clock time
        self._user_stopped_at: float | None = None  # when the caller went silent, as Pipecat's latency observer has it
        self._turn_released_at: float | None = None
        self._transcript_at: float | None = None  # the latest final transcript of the caller's turn
        self._first_audio_at: float | None = None  # the reply's first TTS audio after that transcript
        self._local_vad = False
        self._user_turn_open = False
        self._user_turn_transcribed = False
        self._user_turn_interrupted_bot = False
        self._pending_turn: dict[str, float | None] | None = (
            None  # the turn being answered, sent when the agent stops speaking
        )
        self._bot_started_at: float | None = None
        self._bot_speaking = False
        self._user_turns = 0
        self._barge_in_at: float | None = None
        self._interrupted = False
        self._cut: set[str] = set()  # services whose request an interruption may have cut short (pipecat#1682)
        self._fatal = False
        self._unusable: list[object] = []  # processors that reported an error leaving them unable to work
        self._meters = _audio_meters() if analyse_audio else None
        self._queued_sum, self._queued_count = 0.0, 0
        self._alignment: dict[str, bool] = {}  # stage -> whether its audio matches its service's sample rate
        self._stats: StatsSource | None = None
        self._reading = webrtc_stats.TransportReading()
        self._stats_read_at = 0.0  # time.monotonic() of the last read
        self._ticker: asyncio.Task[None] | None = None
        self.discarded_ttfb = 0

    # --- frames ---------------------------------------------------------------------------------------------

    async def on_push_frame(self, data: FramePushed) -> None:
        frame = data.frame
        try:
            if isinstance(frame, InputAudioRawFrame | OutputAudioRawFrame):
                self._on_audio(frame, data)  # every 20 ms each way: nothing else is looked at
            else:
                self._on_frame(frame, data)
        except Exception:  # monitoring must never break the pipeline
            log.debug("monitoring a %s failed", type(frame).__name__, exc_info=True)

    async def on_process_frame(self, data: FrameProcessed) -> None:
        # The call ends once the end frame has passed the whole pipeline: what services flush on their way out
        # (the STT's last usage) is reported before it.
        if data.processor is self._sink and isinstance(data.frame, EndFrame | CancelFrame):
            try:
                await self._end(CancelFrame if isinstance(data.frame, CancelFrame) else EndFrame)
            except Exception:
                log.debug("ending the call failed", exc_info=True)

    async def cleanup(self) -> None:
        """The worker is done: a call whose end frame was never seen at the end of the pipeline ends here."""
        try:
            if not self.call.ended and self.call.started_at is not None:
                await self._end(CancelFrame)
        except Exception:
            log.debug("ending the call failed", exc_info=True)
        await super().cleanup()

    def _now(self, data: FramePushed | FrameProcessed) -> float:
        """The wall time of a push or process event (its pipeline clock time, so the observer's queue adds no lag)."""
        return data.timestamp / 1e9 + self._clock_offset if data.timestamp else time.time()

    def _on_audio(self, frame: InputAudioRawFrame | OutputAudioRawFrame, data: FramePushed) -> None:
        meters = self._meters
        if isinstance(frame, InputAudioRawFrame):
            if meters:
                meters[0].feed(frame.audio, frame.sample_rate, frame.num_channels)
            if "caller_in" not in self._alignment:
                self._check_alignment("caller_in", frame.sample_rate, "stt")
            return
        if data.direction != FrameDirection.DOWNSTREAM or not isinstance(data.source, TTSService | LLMService):
            return  # the agent's speech as its TTS (or a speech-to-speech LLM) hands it on, once
        now = self._now(data)
        if self._transcript_at is not None and self._first_audio_at is None:
            self._first_audio_at = now
        if meters:
            meters[1].feed(frame.audio, frame.sample_rate, frame.num_channels)
            duration = len(frame.audio) / (2 * max(frame.num_channels, 1) * frame.sample_rate)
            if self._bot_speaking:  # the playout buffer when the frame arrived (empty before an utterance's first)
                self._queued_sum += meters[2].queued(now)
                self._queued_count += 1
            meters[2].frame(now, duration)
        if "agent_out" not in self._alignment:
            self._check_alignment("agent_out", frame.sample_rate, "tts")

    def _on_frame(self, frame: Frame, data: FramePushed) -> None:
        call = self.call
        direction = data.direction
        if isinstance(frame, StartFrame):
            self._clock_offset = time.time() - data.timestamp / 1e9 if data.timestamp else 0.0
            self._check_metrics_enabled(frame)
            self._discover(data.source)
            call.start(self.transport)
            self._start_reporting()
        elif isinstance(frame, MetricsFrame):
            for item in frame.data:
                self._on_metrics(item)
        elif isinstance(frame, ErrorFrame):
            self._on_error(frame)
        elif direction != FrameDirection.DOWNSTREAM:
            return
        elif isinstance(frame, VADUserStartedSpeakingFrame):
            self._local_vad = True
            self._user_started(frame.timestamp - frame.start_secs)
        elif isinstance(frame, UserStartedSpeakingFrame):
            self._user_turn_open = True
            self._user_turn_transcribed = False
            self._user_turn_interrupted_bot = self._bot_speaking
            if not self._local_vad:  # turns detected by the STT (Deepgram Flux and the like): no VAD frames
                self._user_started(self._now(data))
        elif isinstance(frame, VADUserStoppedSpeakingFrame):
            self._local_vad = True
            self._user_stopped(frame.timestamp - frame.stop_secs)
        elif isinstance(frame, TranscriptionFrame):
            self._transcript_at = self._now(data)
            self._first_audio_at = None
            self._user_turn_transcribed = True
        elif isinstance(frame, UserStoppedSpeakingFrame):
            now = self._now(data)
            self._user_turn_ended()
            if self._user_stopped_at is None and not self._local_vad:
                # without VAD the caller's silence is unknown: the final transcript, else this frame, anchors it
                self._user_stopped(self._transcript_at if self._transcript_at is not None else now)
            if self._user_stopped_at is not None:
                self._turn_released_at = now
        elif isinstance(frame, InterruptionFrame):
            self._cut.update(("llm", "tts"))
            if self._bot_speaking:
                self._interrupted = True
        elif isinstance(frame, LLMFullResponseStartFrame):
            self._cut.clear()  # a new reply: its LLM and TTS requests are new
        elif isinstance(frame, TTSSpeakFrame):
            self._cut.discard("tts")
        elif isinstance(frame, BotStartedSpeakingFrame):
            self._bot_speaking = True
            now = self._bot_started_at = self._now(data)
            if self._user_stopped_at is not None:
                self._send_turn()  # a reply that never stopped (a second BotStarted) still counts
                self._pending_turn = {
                    "latency": now - self._user_stopped_at,
                    "endpointing_seconds": (  # without a local VAD the caller's silence is the STT's to know
                        self._turn_released_at - self._user_stopped_at
                        if self._turn_released_at and self._local_vad
                        else None
                    ),
                    "stt_to_tts_seconds": (
                        self._first_audio_at - self._transcript_at
                        if self._transcript_at is not None and self._first_audio_at is not None
                        else None
                    ),
                }
                self._user_stopped_at = self._turn_released_at = None
                self._transcript_at = self._first_audio_at = None
            call.set_state("speaking" if self._user_turns else "greeting")
        elif isinstance(frame, BotStoppedSpeakingFrame):
            self._bot_speaking = False
            if self._meters:
                self._meters[2].speech_ended()
            self._send_turn(self._now(data))
            self._settle_barge_in()
            call.set_state("listening")

    def _send_turn(self, speech_ended_at: float | None = None) -> None:
        """The turn being answered, once the agent has stopped speaking: with how long it spoke and whether the
        caller barged in."""
        turn, self._pending_turn = self._pending_turn, None
        if turn is None:
            return
        speech = speech_ended_at - self._bot_started_at if speech_ended_at and self._bot_started_at else None
        self.call.turn(turn.pop("latency"), interrupted=self._interrupted, agent_speech_seconds=speech, **turn)

    def _user_turn_ended(self) -> None:
        """A user turn that cut the agent off and ended with no transcript is Pipecat's empty user turn: the agent
        stopped for a cough or a noise, a false interruption."""
        if self._user_turn_open and self._user_turn_interrupted_bot and not self._user_turn_transcribed:
            self.call.interruption("false_interruption")
        self._user_turn_open = self._user_turn_interrupted_bot = False

    def _user_started(self, at: float) -> None:
        self._user_stopped_at = self._turn_released_at = None
        self._transcript_at = self._first_audio_at = None
        if self._bot_speaking and self._barge_in_at is None:
            self._barge_in_at = at
        self.call.set_state("listening")

    def _user_stopped(self, at: float) -> None:
        self._user_stopped_at = at
        self._user_turns += 1
        self.call.set_state("processing")

    def _settle_barge_in(self) -> None:
        """A barge-in is reported once the bot has stopped: the reaction is caller speech to bot silence."""
        if self._interrupted:
            reaction = time.time() - self._barge_in_at if self._barge_in_at is not None else None
            self.call.interruption("barge_in", reaction)
        self._interrupted = False
        self._barge_in_at = None

    def _service(self, processor_name: str) -> tuple[str | None, str | None]:
        known = self._services.get(processor_name)
        return known if known is not None else service_of(processor_name)

    def _on_metrics(self, item: MetricsData) -> None:
        kind, provider = self._service(item.processor)
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
            # prompt_tokens is net of the cache on some services (Anthropic, Bedrock) and gross on others (OpenAI,
            # Google); total_tokens less completion_tokens is the gross prompt on all of Pipecat's own services.
            prompt = max(usage.prompt_tokens, usage.total_tokens - usage.completion_tokens)
            cached = min(usage.cache_read_input_tokens or 0, prompt)
            self.call.usage("llm", "tokens_in", prompt - cached, provider, item.model)
            self.call.usage("llm", "tokens_in_cached", cached, provider, item.model)
            self.call.usage("llm", "tokens_out", usage.completion_tokens, provider, item.model)
        elif isinstance(item, TTSUsageMetricsData):
            self.call.usage("tts", "characters", item.value, provider, item.model)
        elif isinstance(item, STTUsageMetricsData):
            self.call.usage("stt", "audio_seconds", item.value.audio_seconds, provider, item.model)

    def _on_error(self, frame: ErrorFrame) -> None:
        processor = frame.processor
        name = getattr(processor, "name", None) or ""
        kind, provider = self._service(name)
        category = getattr(frame.category, "value", None) or ("fatal" if frame.fatal else "error")
        self._fatal = self._fatal or bool(frame.fatal)
        if processor is not None and not getattr(processor, "is_usable", True) and processor not in self._unusable:
            self._unusable.append(processor)
        self.call.error(kind or label(name.split("#")[0]) or "pipeline", category, kind, provider)

    def _failed(self) -> bool:
        """Whether the pipeline ends broken: a fatal error, or a processor left unusable by a permanent error that
        no ServiceSwitcher failed over from (Pipecat's ProcessorUnusablePolicy then ends or cancels the worker)."""
        if self._fatal:
            return True
        for processor in self._unusable:
            switcher = self._switchers.get(id(processor))
            if not getattr(switcher or processor, "is_usable", True):
                return True
        return False

    async def _end(self, frame_type: type[Frame]) -> None:
        if self.call.ended:
            return
        self._send_turn(time.time() if self._bot_speaking else None)
        self._settle_barge_in()
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        await self._report(final=True)
        self.call.end("error" if self._failed() else END_REASONS[frame_type])

    # --- the pipeline's services and transport ----------------------------------------------------------------

    def _discover(self, source: FrameProcessor) -> None:
        """Find the pipeline's services (their kind and vendor, the LLM's vendor labels the call), the end of the
        pipeline, and the transport's media connection, from the processor that pushed the StartFrame."""
        try:
            root = source.pipeline_worker.pipeline
        except Exception:
            return
        self._processors = processors = processors_of(root)
        self._sink = root.processors[-1] if getattr(root, "processors", None) else None
        for processor in processors:
            if isinstance(processor, ServiceSwitcher):
                for service in getattr(processor, "services", ()):
                    self._switchers[id(service)] = processor
            kind = next((k for cls, k in SERVICE_KINDS if isinstance(processor, cls)), None)
            if kind is not None:
                provider = service_of(processor.name)[1] or label(type(processor).__name__)
                self._services[processor.name] = (kind, provider)
                self._watch_health(processor, kind, provider)
            elif isinstance(processor, BaseInputTransport | BaseOutputTransport):
                if self.connection is None:
                    self.connection = transport_connection(processor)
                if self.transport is None and type(processor).__module__.startswith(WEBRTC_TRANSPORTS):
                    self.transport = "webrtc"
        if self.call.labels["provider"] is None:
            llm = next((p for k, p in self._services.values() if k == "llm"), None)
            self.call.labels["provider"] = llm

    def _watch_health(self, processor: FrameProcessor, kind: str, provider: str | None) -> None:
        """Pipecat's circuit breaker: a service that can no longer do its job is marked unusable and given no more
        work (a ServiceSwitcher fails over from it) until it is made usable again."""
        breaker = f"{provider}_{kind}"

        async def usable_changed(service: object, usable: bool) -> None:
            self.call.provider_health(kind, provider, bool(usable), breaker)

        try:
            processor.add_event_handler("on_usable_changed", usable_changed)
        except Exception:
            return
        self.call.provider_health(kind, provider, bool(getattr(processor, "is_usable", True)), breaker)

    def _check_alignment(self, stage: str, sample_rate: int, kind: str) -> None:
        """Whether a stage's audio runs at its service's sample rate, or is resampled between service and transport.
        Caller audio from the transport is checked against the STT's rate; TTS audio against the output transport's."""
        expected = STTService if kind == "stt" else BaseOutputTransport
        rates = [p.sample_rate for p in self._processors if isinstance(p, expected) and p.sample_rate]
        if rates:
            self._alignment[stage] = all(r == sample_rate for r in rates)
            self.call.audio({"stage": stage, "codec_alignment": self._alignment[stage]})
        else:
            self._alignment[stage] = True  # nothing to compare with: checked once, not reported

    # --- periodic readings --------------------------------------------------------------------------------------

    def _start_reporting(self) -> None:
        self._stats = stats_source(self.connection) if self.connection is not None else None
        if self._ticker is None and (self._stats is not None or self._meters is not None):
            try:
                self._ticker = asyncio.get_running_loop().create_task(self._tick())
            except RuntimeError:
                self._ticker = None

    async def _tick(self) -> None:
        while not self.call.ended:
            await asyncio.sleep(self.report_interval)
            try:
                await self._report()
            except Exception:
                log.debug("a periodic reading failed", exc_info=True)

    async def _report(self, final: bool = False) -> None:
        """Audio levels and underruns since the last report, and the connection's statistics read off the audio
        path (bounded in time)."""
        if self._meters:
            caller_in, agent_out, gaps = self._meters
            for meter in (caller_in, agent_out):
                attrs = meter.report()
                if meter is agent_out:
                    underruns = gaps.take()
                    if underruns or attrs:
                        attrs = {**(attrs or {"stage": "agent_out"}), "underflow": underruns}
                    if self._queued_count:
                        depth = self._queued_sum / self._queued_count / PLAYOUT_FRAME_SECONDS
                        attrs = {**(attrs or {"stage": "agent_out"}), "jitter_buffer_depth": round(depth)}
                        self._queued_sum, self._queued_count = 0.0, 0
                if attrs:
                    self.call.audio(attrs)
        if self._stats is not None:
            try:
                stats = await asyncio.wait_for(self._stats(), STATS_TIMEOUT)
            except Exception:
                log.debug("reading the connection's statistics failed", exc_info=True)
                return
            attrs = self._reading.attrs(stats)
            now = time.monotonic()
            if final and now - self._stats_read_at < self.report_interval / 2:
                # the last stretch of a call is too few packets for a share of them: a lost packet in a dozen would
                # stand for the whole call, whose transport series keep the last reading
                for ratio in COUNTED_RATIOS:
                    attrs.pop(ratio, None)
            self._stats_read_at = now
            if attrs:
                self.call.transport(attrs)

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
