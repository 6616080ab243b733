"""LiveKit Agents adapter: reports an AgentSession's call to the exporter.

    from voice_monitoring.client.livekit import monitor_session
    monitor_session(session, tenant="acme")          # before `await session.start(...)`

Tested with livekit-agents 1.8 (see docs/integrations/livekit.md for the mapping and the supported versions).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
import typing
from collections.abc import Callable, Mapping
from typing import Any

from livekit import rtc
from livekit.agents import APIConnectionError, APIStatusError, APITimeoutError, get_job_context
from livekit.agents import llm as lk_llm
from livekit.agents import metrics as lk_metrics
from livekit.agents import stt as lk_stt
from livekit.agents import tts as lk_tts
from livekit.agents.voice import AgentSession
from livekit.agents.voice import events as session_events
from livekit.agents.voice.io import AudioInput, AudioOutput, AudioOutputCapabilities

from voice_monitoring.client.audio_meter import AudioMeter, PlayoutGaps
from voice_monitoring.client.call import CallReporter
from voice_monitoring.client.sender import EventClient
from voice_monitoring.client.vendors import livekit_vendor
from voice_monitoring.client.webrtc_stats import TransportReading, from_livekit

log = logging.getLogger("voice_monitoring.client.livekit")

# Usage keeps coming on session_usage_updated (cumulative per provider and model); metrics_collected, which
# older releases have instead, is deprecated in 1.8 and warns when subscribed.
HAS_SESSION_USAGE = "session_usage_updated" in typing.get_args(session_events.EventTypes)
AGENT_STATES = {"listening": "listening", "idle": "listening", "thinking": "processing", "speaking": "speaking"}
CLOSE_REASONS = {
    "participant_disconnected": "user_hangup",
    "user_initiated": "agent_hangup",
    "task_completed": "agent_hangup",
    "job_shutdown": "other",
    "error": "error",
}
# (usage type, cumulative field) -> (service, unit)
USAGE_FIELDS = {
    ("llm_usage", "input_tokens"): ("llm", "tokens_in"),
    ("llm_usage", "input_cached_tokens"): ("llm", "tokens_in_cached"),
    ("llm_usage", "output_tokens"): ("llm", "tokens_out"),
    ("tts_usage", "characters_count"): ("tts", "characters"),
    ("stt_usage", "audio_duration"): ("stt", "audio_seconds"),
}
# cumulative field -> the field counting the part of it sent under a unit of its own: LiveKit's input tokens include
# the prompt tokens read from the cache, which are priced apart (cache writes stay in tokens_in)
PART_SENT_APART = {"input_tokens": "input_cached_tokens"}
# service -> (its FallbackAdapter class, the adapter's event, the attribute listing its instances)
FALLBACKS: dict[str, tuple[type[rtc.EventEmitter[Any]], str, str]] = {
    "stt": (lk_stt.FallbackAdapter, "stt_availability_changed", "_stt_instances"),
    "llm": (lk_llm.FallbackAdapter, "llm_availability_changed", "_llm_instances"),
    "tts": (lk_tts.FallbackAdapter, "tts_availability_changed", "_tts_instances"),
}
DEFAULT_INTERVAL = 5.0
PLAYOUT_FRAME_SECONDS = 0.02  # the playout buffer's depth is reported in 20-ms frames, as WebRTC sends audio
CLOSE_READING_TIMEOUT = 1.0


def error_kind(error: BaseException | None) -> str:
    if isinstance(error, APITimeoutError):
        return "timeout"
    if isinstance(error, APIStatusError):
        code = error.status_code
        return "rate_limited" if code == 429 else f"http_{code // 100}xx" if code >= 400 else "api_error"
    if isinstance(error, APIConnectionError):
        return "connection"
    if error is None:
        return "unknown"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).lower()


def service_vendor(service: object) -> tuple[str | None, str | None]:
    """(vendor, model) of a LiveKit STT, LLM or TTS as the price table names them."""
    return livekit_vendor(getattr(service, "provider", None), getattr(service, "model", None))


def metadata_vendor(metadata: Mapping[str, Any] | None) -> tuple[str | None, str | None]:
    """(vendor, model) of a ChatMessage's ``*_metadata`` (``model_provider``, ``model_name``)."""
    metadata = metadata or {}
    return livekit_vendor(metadata.get("model_provider"), metadata.get("model_name"))


def monitor_session(
    session: AgentSession[Any],
    call_id: str | None = None,
    *,
    tenant: str | None = None,
    provider: str | None = None,
    pipeline: str = "livekit",
    transport: str = "webrtc",
    client: EventClient | None = None,
    room: rtc.Room | None = None,
    interval: float = DEFAULT_INTERVAL,
    agent: str | None = None,
    agent_version: str | None = None,
) -> SessionMonitor:
    """Attach to ``session`` and report its call (``call_id`` defaults to the LiveKit job's id).

    ``room`` is the ``rtc.Room`` whose WebRTC statistics give the call's transport figures; by default the
    session's room, else the job's. Audio levels, underruns and the room's statistics are sent every
    ``interval`` seconds and once at the end of the call. ``agent`` defaults to the agent name the worker
    registered with (``WorkerOptions(agent_name=...)``, the job's ``agent_name``); ``agent_version`` is the
    version of the agent's code or prompt, for comparing versions."""
    return SessionMonitor(
        session, call_id, tenant, provider, pipeline, transport, client, room, interval, agent, agent_version
    )


class SessionMonitor:
    def __init__(
        self,
        session: AgentSession[Any],
        call_id: str | None,
        tenant: str | None,
        provider: str | None,
        pipeline: str,
        transport: str,
        client: EventClient | None,
        room: rtc.Room | None = None,
        interval: float | None = None,
        agent: str | None = None,
        agent_version: str | None = None,
    ):
        job = get_job_context(required=False) if call_id is None or agent is None else None
        if call_id is None and job is not None:
            call_id = job.job.id
        if agent is None and job is not None:
            agent = job.job.agent_name or None  # empty for a worker registered without a name
        self.session = session
        self.call = CallReporter(
            client,
            call_id,
            tenant,
            provider or service_vendor(session.llm)[0],
            pipeline,
            agent=agent,
            agent_version=agent_version,
        )
        self.interval = interval if interval and interval > 0 else DEFAULT_INTERVAL
        self._room = room
        self._user_metrics: dict[str, Any] = {}
        self._user_messages = 0
        self._untimed_speech = 0.0  # agent speech outside a turn (the greeting), sent with the next turn
        self._detector_reaction: float | None = None
        self._agent_speaking = False
        self._agent_stopped_at = 0.0
        self._overlap_started: float | None = None  # the caller started speaking while the agent spoke
        self._audio_cut_at: float | None = None  # the agent's audio stopped early (paused or cleared)
        self._pending_barge_in: float | None = None  # an overlap start waiting for the agent to stop
        self._usage_seen: dict[tuple[str, str, str, str], float] = {}
        self._caller_meter = AudioMeter("caller_in")
        self._agent_meter = AudioMeter("agent_out")
        self._gaps = PlayoutGaps()
        self._utterance_started = False
        self._utterance_frames = 0
        self._queued_sum, self._queued_count = 0.0, 0  # the playout buffer when each frame arrived
        self._alignment: list[bool] = []
        self._room_listener: tuple[rtc.Room, Callable[..., None]] | None = None
        self._transport = TransportReading()
        self._ticker: asyncio.Task[None] | None = None
        self._ending: asyncio.Task[None] | None = None
        self._taps_installed = False
        self._health_listeners: list[tuple[rtc.EventEmitter[Any], str, Callable[..., None]]] = []
        self._watched: list[object] = []  # the FallbackAdapters watched
        handlers: dict[session_events.EventTypes, Callable[[Any], None]] = {
            "conversation_item_added": self._on_item,
            "agent_state_changed": self._on_state,
            "user_state_changed": self._on_user_state,
            "agent_false_interruption": self._on_false_interruption,
            "overlapping_speech": self._on_overlap,
            "error": self._on_error,
            "close": self._on_close,
        }
        if HAS_SESSION_USAGE:
            handlers["session_usage_updated"] = self._on_usage
        else:
            handlers["metrics_collected"] = self._on_metrics
        for event, handler in handlers.items():
            session.on(event, self._guarded(handler))
        self.call.start(transport)
        self._guarded(self._watch_fallbacks)(None)

    @staticmethod
    def _guarded(handler: Callable[[Any], object]) -> Callable[..., None]:
        def run(event: object = None) -> None:
            try:
                handler(event)
            except Exception:  # monitoring must never break the agent
                log.debug("monitoring %s failed", getattr(event, "type", event), exc_info=True)

        return run

    # --- turns -------------------------------------------------------------------------------------------------

    def _on_item(self, event: session_events.ConversationItemAddedEvent) -> None:
        item = event.item
        if not isinstance(item, lk_llm.ChatMessage):
            return  # an AgentHandoff or a configuration update is not a turn
        metrics: dict[str, Any] = dict(item.metrics or {})
        if item.role == "user":
            self._user_metrics = metrics
            self._user_messages += 1
            return
        if item.role != "assistant":
            return
        user, self._user_metrics = self._user_metrics, {}
        call, session = self.call, self.session
        # LiveKit puts stt_metadata on the user message; a say() reply has no tts_metadata: the session's TTS spoke
        stt_vendor = metadata_vendor(user.get("stt_metadata") or metrics.get("stt_metadata"))
        if user and stt_vendor == (None, None):
            stt_vendor = service_vendor(session.stt)
        call.latency("stt", user.get("transcription_delay"), *stt_vendor)
        llm_vendor = metadata_vendor(metrics.get("llm_metadata"))
        if llm_vendor == (None, None):
            llm_vendor = service_vendor(session.llm)
        call.latency("llm_ttft", metrics.get("llm_node_ttft"), *llm_vendor)
        tts_vendor = metadata_vendor(metrics.get("tts_metadata"))
        if tts_vendor == (None, None):
            tts_vendor = service_vendor(session.tts)
        call.latency("tts_ttfb", metrics.get("tts_node_ttfb"), *tts_vendor)
        speech = 0.0
        if "started_speaking_at" in metrics and "stopped_speaking_at" in metrics:
            speech = max(metrics["stopped_speaking_at"] - metrics["started_speaking_at"], 0.0)
        sent = call.turn(
            metrics.get("e2e_latency"),  # absent for a greeting and in text mode: then there is no turn latency
            interrupted=item.interrupted,
            endpointing_seconds=user.get("end_of_turn_delay"),
            stt_to_tts_seconds=self._stt_to_tts(user, metrics),
            agent_speech_seconds=(speech + self._untimed_speech) or None,
        )
        if sent:
            self._untimed_speech = 0.0
        else:
            self._untimed_speech += speech
        if item.interrupted:
            self._barge_in()
        self._detector_reaction = None

    @staticmethod
    def _stt_to_tts(user: Mapping[str, Any], reply: Mapping[str, Any]) -> float | None:
        """The final transcript (the user stopped speaking plus the transcription delay) to the first TTS audio
        handed to the output (the agent started speaking less the playback latency)."""
        stopped, delay = user.get("stopped_speaking_at"), user.get("transcription_delay")
        started = reply.get("started_speaking_at")
        if stopped is None or delay is None or started is None:
            return None
        return float(started) - float(reply.get("playback_latency") or 0.0) - (float(stopped) + float(delay))

    # --- barge-in ----------------------------------------------------------------------------------------------

    def _barge_in(self) -> None:
        """An interrupted reply. The reaction is LiveKit Cloud's adaptive detector's delay where it ran; else the
        caller starting to speak over the agent to the agent's audio stopping (paused or cleared), or to the agent
        leaving the speaking state when the audio was not seen to stop."""
        if self._detector_reaction is not None:
            self.call.interruption("barge_in", self._detector_reaction)
        elif self._overlap_started is None:
            self.call.interruption("barge_in")
        elif self._audio_cut_at is not None and self._audio_cut_at >= self._overlap_started:
            self.call.interruption("barge_in", self._audio_cut_at - self._overlap_started)
        elif not self._agent_speaking and self._agent_stopped_at >= self._overlap_started:
            self.call.interruption("barge_in", self._agent_stopped_at - self._overlap_started)
        else:
            self._pending_barge_in = self._overlap_started
        self._overlap_started = None

    def _on_user_state(self, event: session_events.UserStateChangedEvent) -> None:
        if event.new_state == "speaking" and self._agent_speaking and self._overlap_started is None:
            self._overlap_started = event.created_at

    def _on_overlap(self, event: object) -> None:
        if getattr(event, "is_interruption", False):
            self._detector_reaction = getattr(event, "detection_delay", None)

    def _on_false_interruption(self, event: session_events.AgentFalseInterruptionEvent) -> None:
        self.call.interruption("false_interruption")

    def _on_state(self, event: session_events.AgentStateChangedEvent) -> None:
        if not self._taps_installed and event.new_state != "initializing":
            self._taps_installed = True
            self._guarded(lambda _: self._install_taps())(event)
        if event.new_state == "speaking":
            self._agent_speaking, self._overlap_started, self._audio_cut_at = True, None, None
        elif self._agent_speaking:
            self._agent_speaking, self._agent_stopped_at = False, event.created_at
            if self._pending_barge_in is not None:
                self.call.interruption("barge_in", event.created_at - self._pending_barge_in)
                self._pending_barge_in = None
        state = AGENT_STATES.get(event.new_state)
        if state == "speaking" and not self._user_messages:
            state = "greeting"
        if state:
            self.call.set_state(state, self._tts_gating(event.new_state), self._audio_capture())

    def _tts_gating(self, agent_state: str) -> bool:
        """Whether the caller's audio is dropped while the agent speaks: its speech cannot be interrupted."""
        session = self.session
        speech = session.current_speech
        if agent_state != "speaking" or speech is None or speech.allow_interruptions:
            return False
        return bool(session.options.interruption.get("discard_audio_if_uninterruptible", True))

    def _audio_capture(self) -> bool:
        return self.session.input.audio is not None and self.session.input.audio_enabled

    # --- usage and errors --------------------------------------------------------------------------------------

    def _on_usage(self, event: session_events.SessionUsageUpdatedEvent) -> None:
        for usage in event.usage.model_usage:
            for (kind, field), (service, unit) in USAGE_FIELDS.items():
                if usage.type != kind:
                    continue
                key = (kind, usage.provider, usage.model, field)
                total = getattr(usage, field, 0) or 0
                if field in PART_SENT_APART:
                    total -= getattr(usage, PART_SENT_APART[field], 0) or 0
                delta = total - self._usage_seen.get(key, 0)
                if delta > 0:
                    self._usage_seen[key] = total
                    self.call.usage(service, unit, delta, *livekit_vendor(usage.provider, usage.model))

    def _on_metrics(self, event: session_events.MetricsCollectedEvent) -> None:
        """Usage from metrics_collected, on releases without session_usage_updated."""
        metrics = event.metrics
        meta = getattr(metrics, "metadata", None)
        vendor = livekit_vendor(getattr(meta, "model_provider", None), getattr(meta, "model_name", None))
        if isinstance(metrics, lk_metrics.LLMMetrics):
            cached = getattr(metrics, "prompt_cached_tokens", 0) or 0  # included in prompt_tokens
            self.call.usage("llm", "tokens_in", metrics.prompt_tokens - cached, *vendor)
            self.call.usage("llm", "tokens_in_cached", cached, *vendor)
            self.call.usage("llm", "tokens_out", metrics.completion_tokens, *vendor)
        elif isinstance(metrics, lk_metrics.TTSMetrics):
            self.call.usage("tts", "characters", metrics.characters_count, *vendor)
        elif isinstance(metrics, lk_metrics.STTMetrics):
            self.call.usage("stt", "audio_seconds", metrics.audio_duration, *vendor)

    def _on_error(self, event: session_events.ErrorEvent) -> None:
        error = event.error
        component = str(getattr(error, "type", "agent")).removesuffix("_error")
        service = "llm" if component == "realtime_model" else component
        self.call.error(
            component,
            error_kind(getattr(error, "error", None)),
            service if service in ("stt", "llm", "tts") else None,
            service_vendor(event.source)[0],
        )

    # --- provider health ---------------------------------------------------------------------------------------

    def _watch_fallbacks(self, _: object) -> None:
        """Each FallbackAdapter's instances, the session's and its agent's: up or down (a circuit breaker per vendor
        and service) as the adapter marks them, and their failed requests, which the session does not see (the
        adapter absorbs them)."""
        try:
            agent = self.session.current_agent
        except RuntimeError:  # not started yet
            agent = None
        for service, (adapter_type, event_name, instances_attr) in FALLBACKS.items():
            for adapter in (getattr(self.session, service, None), getattr(agent, service, None)):
                if isinstance(adapter, adapter_type) and not any(adapter is seen for seen in self._watched):
                    self._watched.append(adapter)
                    self._watch_fallback(service, adapter, event_name, instances_attr)

    def _watch_fallback(
        self, service: str, adapter: rtc.EventEmitter[Any], event_name: str, instances_attr: str
    ) -> None:
        instances = list(getattr(adapter, instances_attr, ()))
        for instance, status in zip(instances, getattr(adapter, "_status", ()), strict=False):
            self._provider_health(service, instance, bool(getattr(status, "available", True)))
            on_error = self._guarded(functools.partial(self._instance_error, service, instance))
            instance.on("error", on_error)
            self._health_listeners.append((instance, "error", on_error))
        on_change = self._guarded(functools.partial(self._availability_changed, service))
        adapter.on(event_name, on_change)
        self._health_listeners.append((adapter, event_name, on_change))

    def _availability_changed(self, service: str, event: Any) -> None:
        """``event``: the STT, LLM or TTS FallbackAdapter's AvailabilityChangedEvent."""
        self._provider_health(service, getattr(event, service), bool(event.available))

    def _provider_health(self, service: str, instance: object, up: bool) -> None:
        vendor = service_vendor(instance)[0]
        if vendor:
            self.call.provider_health(service, vendor, up, breaker=f"{vendor}_{service}")

    def _instance_error(self, service: str, instance: object, error: object) -> None:
        self.call.error(service, error_kind(getattr(error, "error", None)), service, service_vendor(instance)[0])

    # --- audio and transport -----------------------------------------------------------------------------------

    def _install_taps(self) -> None:
        """Meter the caller's audio and the agent's where they enter and leave the session, by wrapping the
        session's audio input and output (LiveKit's own chaining); start the periodic reports."""
        session = self.session
        audio_in = session.input.audio
        if audio_in is not None and not isinstance(audio_in, _CallerTap):
            session.input.audio = _CallerTap(audio_in, self)
        audio_out = session.output.audio
        if audio_out is not None and not isinstance(audio_out, _AgentTap):
            session.output.audio = _AgentTap(audio_out, self)
        self._ticker = asyncio.get_running_loop().create_task(self._tick(), name="voice_monitoring.livekit")
        self._watch_fallbacks(None)
        room = self._stats_room()
        if room is not None and hasattr(room, "on"):
            self._room_listener = (room, self._guarded(self._connection_lost))
            room.on("reconnecting", self._room_listener[1])

    def _connection_lost(self, *_: object) -> None:
        """The room lost its connection to the LiveKit server (it is reconnecting)."""
        self.call.transport({"connection_lost": True})

    def caller_frame(self, frame: rtc.AudioFrame) -> None:
        self._caller_meter.feed(frame.data.cast("B"), frame.sample_rate, frame.num_channels)

    def agent_frame(self, frame: rtc.AudioFrame, output_rate: int | None) -> None:
        if not self._utterance_started:
            self._utterance_started = True
            tts_rate = getattr(self.session.tts, "sample_rate", None)
            self._alignment.append(tts_rate in (None, frame.sample_rate) and output_rate in (None, frame.sample_rate))
        now = time.monotonic()
        if self._utterance_frames:  # the buffer is empty before an utterance's first frame, by definition
            self._queued_sum += self._gaps.queued(now)
            self._queued_count += 1
        self._utterance_frames += 1
        self._gaps.frame(now, frame.duration)
        self._agent_meter.feed(frame.data.cast("B"), frame.sample_rate, frame.num_channels)

    def utterance_ended(self, cut: bool) -> None:
        self._gaps.speech_ended()
        self._utterance_started, self._utterance_frames = False, 0
        if cut:
            self.audio_stopped()

    def audio_stopped(self) -> None:
        """The agent's audio stopped before its end: cleared, or paused (LiveKit pauses at a possible barge-in
        and resumes if it was a false one). A pause restarts the playout timeline: no underrun while paused."""
        self._gaps.speech_ended()
        self._utterance_frames = 0
        if self._audio_cut_at is None:
            self._audio_cut_at = time.time()

    def _report_audio(self) -> None:
        caller = self._caller_meter.report()
        if caller:
            self.call.audio(caller)
        agent = self._agent_meter.report() or {}
        underflow = self._gaps.take()
        if self._taps_installed and (agent or underflow or self._alignment):
            agent = {**agent, "stage": "agent_out", "underflow": underflow}
            if self._alignment:
                agent["codec_alignment"] = all(self._alignment)
                self._alignment = []
            if self._queued_count:
                agent["jitter_buffer_depth"] = round(self._queued_sum / self._queued_count / PLAYOUT_FRAME_SECONDS)
                self._queued_sum, self._queued_count = 0.0, 0
            self.call.audio(agent)

    def _stats_room(self) -> rtc.Room | None:
        if self._room is not None:
            return self._room
        try:
            return self.session.room_io.room
        except RuntimeError:  # the session was not started with a room
            pass
        job = get_job_context(required=False)
        return job.room if job is not None else None

    async def _report_transport(self) -> None:
        room = self._stats_room()
        if room is None or (hasattr(room, "isconnected") and not room.isconnected()):
            return
        stats = await room.get_rtc_stats()
        attrs = self._transport.attrs(from_livekit(stats))
        if attrs:
            self.call.transport(attrs)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                self._report_audio()
                await asyncio.wait_for(self._report_transport(), self.interval)
            except Exception:  # monitoring must never break the agent
                log.debug("a periodic report failed", exc_info=True)

    # --- the end -----------------------------------------------------------------------------------------------

    def _on_close(self, event: session_events.CloseEvent) -> None:
        reason = getattr(event.reason, "value", str(event.reason))
        reason = "error" if event.error is not None else CLOSE_REASONS.get(reason, reason)
        if self._ticker is not None:
            self._ticker.cancel()
        for emitter, name, handler in self._health_listeners:
            emitter.off(name, handler)
        self._health_listeners = []
        if self._room_listener is not None:
            self._room_listener[0].off("reconnecting", self._room_listener[1])
            self._room_listener = None
        self._guarded(lambda _: self._report_audio())(None)
        if self._pending_barge_in is not None:
            self.call.interruption("barge_in")
            self._pending_barge_in = None
        try:
            self._ending = asyncio.get_running_loop().create_task(self._end(reason))
        except RuntimeError:
            self.call.end(reason)

    async def _end(self, reason: str) -> None:
        """The room's last statistics (it stays connected until the close event's handlers ran), then the end."""
        try:
            await asyncio.wait_for(self._report_transport(), CLOSE_READING_TIMEOUT)
        except Exception:
            log.debug("the closing transport reading failed", exc_info=True)
        finally:
            self.call.end(reason)

    async def wait_ended(self, timeout: float = CLOSE_READING_TIMEOUT + 1) -> None:
        """Wait until the call's end has been sent (after the session closed)."""
        if self._ending is not None:
            await asyncio.wait({self._ending}, timeout=timeout)


class _CallerTap(AudioInput):
    """The session's audio input, metered as it passes."""

    def __init__(self, source: AudioInput, monitor: SessionMonitor):
        super().__init__(label="VoiceMonitoring", source=source)
        self._source = source
        self._monitor = monitor

    async def __anext__(self) -> rtc.AudioFrame:
        frame = await self._source.__anext__()
        try:
            self._monitor.caller_frame(frame)
        except Exception:  # monitoring must never break the agent
            log.debug("metering a caller frame failed", exc_info=True)
        return frame


class _AgentTap(AudioOutput):
    """The session's audio output, metered as frames pass to it; the utterance ends at a flush or a clear."""

    def __init__(self, next_in_chain: AudioOutput, monitor: SessionMonitor):
        super().__init__(
            label="VoiceMonitoring",
            capabilities=AudioOutputCapabilities(pause=True),  # as able to pause as what it wraps
            next_in_chain=next_in_chain,
        )
        # what the base class chained: the output itself, or its proxy for a sink
        self._next: AudioOutput = self.next_in_chain or next_in_chain
        self._monitor = monitor

    @property
    def sample_rate(self) -> int | None:
        return self._next.sample_rate

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        try:
            self._monitor.agent_frame(frame, self._next.sample_rate)
        except Exception:  # monitoring must never break the agent
            log.debug("metering an agent frame failed", exc_info=True)
        await self._next.capture_frame(frame)

    def flush(self) -> None:
        super().flush()
        self._ended(cut=False)
        self._next.flush()

    def clear_buffer(self) -> None:
        self._ended(cut=True)
        self._next.clear_buffer()

    def pause(self) -> None:
        try:
            self._monitor.audio_stopped()
        except Exception:  # monitoring must never break the agent
            log.debug("pausing an utterance failed", exc_info=True)
        self._next.pause()

    def _ended(self, cut: bool) -> None:
        try:
            self._monitor.utterance_ended(cut)
        except Exception:  # monitoring must never break the agent
            log.debug("ending an utterance failed", exc_info=True)
