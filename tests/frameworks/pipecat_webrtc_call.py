"""Pipecat voice calls over a real WebRTC connection on loopback, offline and in real time.

The agent is a real pipeline: Pipecat's SmallWebRTC transport, an STT, an LLM and a TTS subclassed from Pipecat's
own service base classes, and an energy VAD subclassed from its VADAnalyzer. The caller is an aiortc
RTCPeerConnection answered by the transport's SmallWebRTCConnection, directly or through a UDP relay that impairs the
path: it speaks speech-like tone bursts with silences between them, listens to the agent's audio and plays its
script (the main one barges in, speaks into a silence, coughs into a reply) and hangs up. Everything Pipecat
measures (TTFB, usage) it measures itself, on this audio.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from dataclasses import dataclass, field

import numpy as np
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError
from av import AudioFrame
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams
from pipecat.frames.frames import (
    EndFrame,
    ErrorFrame,
    InterruptionFrame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    MetricsFrame,
    ProposedUserStartedSpeakingFrame,
    ProposedUserStoppedSpeakingFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSSpeakFrame,
    TTSStartedFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.metrics.metrics import LLMTokenUsage, TTFBMetricsData
from pipecat.observers.base_observer import BaseObserver, FramePushed
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker, ProcessorUnusablePolicy
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.services.llm_service import LLMService
from pipecat.services.settings import LLMSettings, STTSettings, TTSSettings
from pipecat.services.stt_service import STTService
from pipecat.services.tts_service import TTSService
from pipecat.transports.base_transport import TransportParams
from pipecat.transports.smallwebrtc.connection import SmallWebRTCConnection
from pipecat.transports.smallwebrtc.transport import SmallWebRTCTransport
from pipecat.turns.empty_user_turn import EmptyUserTurnConfig
from pipecat.turns.user_stop import SpeechTimeoutUserTurnStopStrategy
from pipecat.turns.user_turn_strategies import ExternalUserTurnStrategies, UserTurnStrategies
from pipecat.utils.errors import ErrorCategory
from pipecat.utils.time import time_now_iso8601
from pipecat.workers.runner import WorkerRunner

from tests.frameworks.pipecat_udp_relay import UdpRelay, host_candidate, through

CALLER_RATE = 16000  # what the caller's microphone track produces; Opus carries it at 48 kHz
FRAME_SECONDS = 0.02
SPEECH_LEVEL = 0.3  # the caller's tone bursts, in full scale
SPEECH_RMS = 400  # int16 RMS above which the VAD and the STT hear speech
# The agent's vendors, as its services' processor names say (Pipecat reports metrics under these names).
STT_NAME, LLM_NAME, TTS_NAME = "DeepgramSTTService#0", "OpenAILLMService#0", "CartesiaHttpTTSService#0"
STT_MODEL, LLM_MODEL, TTS_MODEL = "nova-3", "gpt-4o-mini", "sonic-2"
GREETING = "Hello, how can I help?"
# The agent's replies in the main call, one per user turn. The caller barges into the second. The third is
# rate-limited once, then slow to synthesise, and the caller, hearing nothing, speaks again: that cuts the TTS request
# before its first byte. A cough cuts the fourth off (the STT hears no words in it: a false interruption), and the
# caller hangs up.
REPLIES = (
    "Sure, I can check that for you.",
    "Your order left the warehouse this morning and should arrive on Friday afternoon.",
    "Slowly, let me look that up.",
    "Of course. Is there anything else I can help you with today?",
)
SHORT_REPLIES = ("Sure.", "Yes, it is.", "Goodbye.")  # the three-question call's
SLOW_START = "Slowly"  # a sentence starting with this waits before its first byte
LLM_DELAY = 0.25
TTS_DELAY = 0.12
TTS_SLOW_DELAY = 4.0
TTS_STALL = 0.6
CHARACTER_SECONDS = 0.045  # speech per character of TTS text
# The caller's speech (seconds) in each user turn: two questions, the barge-in, and "hello?" into the silence.
USER_TURNS = (0.8, 0.7, 0.6, 0.4)
COUGH = 0.14  # seconds: loud enough for the VAD, too short for the STT to hear words
COUGH_AFTER = 0.6  # seconds of the last reply before the caller coughs
MIN_WORDS_SECONDS = 0.25  # the STT transcribes nothing shorter
TURN_STOP_TIMEOUT = 1.0  # seconds Pipecat waits for words before it ends a user turn
BARGE_IN_AFTER = 0.9  # seconds of agent speech before the caller barges in
QUIET = 0.8  # seconds of silence that end the agent's utterance, to the caller
HELLO_AFTER = 1.5  # seconds after the barge-in before the caller, hearing nothing, speaks again


VAD_PARAMS = VADParams(start_secs=0.1, stop_secs=0.3, confidence=0.5, min_volume=0.0)


def vad_turn_strategies() -> UserTurnStrategies:
    """Turns from the VAD: a turn ends 0.3 s after the VAD stops, once the STT has given its transcript."""
    return UserTurnStrategies(stop=[SpeechTimeoutUserTurnStopStrategy(user_speech_timeout=0.3)])


def tone(seconds: float, rate: int, level: float = SPEECH_LEVEL, pitch: float = 180.0) -> np.ndarray:
    """Speech-like int16 audio: a voiced harmonic tone with syllable-rate (4 Hz) loudness modulation."""
    t = np.arange(int(seconds * rate)) / rate
    voice = sum(np.sin(2 * np.pi * pitch * k * t) / k for k in (1, 2, 3, 4))
    syllables = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t) ** 2
    wave = voice / 2.1 * syllables * level
    return (wave * 32767).astype(np.int16)


def rms(pcm: bytes | np.ndarray) -> float:
    samples = np.frombuffer(pcm, dtype=np.int16) if isinstance(pcm, bytes | bytearray) else pcm
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if samples.size else 0.0


class EnergyVAD(VADAnalyzer):
    """Voice activity from the energy of 20-ms windows."""

    def num_frames_required(self) -> int:
        return int(self.sample_rate * FRAME_SECONDS)

    def voice_confidence(self, buffer: bytes) -> float:
        return 1.0 if rms(buffer) > SPEECH_RMS else 0.0


class EndpointingSTT(STTService):
    """A streaming STT: it hears speech in the audio and finalises a transcript after 400 ms of silence (nothing for
    a noise shorter than a word), billing the audio it was sent at each final transcript (the base class bills the
    rest when the pipeline stops). With ``detects_turns`` it also proposes the user's turns, as an STT with its own
    turn detection does (Deepgram Flux): a turn starts with the caller's speech and ends with its final transcript."""

    def __init__(self, detects_turns: bool = False, **kwargs):
        super().__init__(name=STT_NAME, settings=STTSettings(model=STT_MODEL, language=None), **kwargs)
        self.detects_turns = detects_turns
        self._speech = 0.0
        self._silence = 0.0
        self._turn_open = False
        self.utterances = 0

    def can_generate_metrics(self) -> bool:
        return True

    async def run_stt(self, audio: bytes):
        seconds = len(audio) / 2 / self.sample_rate
        if rms(audio) > SPEECH_RMS:
            self._speech += seconds
            self._silence = 0.0
            if self.detects_turns and not self._turn_open and self._speech >= MIN_WORDS_SECONDS:
                self._turn_open = True
                await self.broadcast_frame(ProposedUserStartedSpeakingFrame)
        elif self._speech:
            self._silence += seconds
            if self._silence >= 0.4:
                words = self._speech >= MIN_WORDS_SECONDS
                self._speech = self._silence = 0.0
                if words:
                    self.utterances += 1
                    text = f"caller utterance {self.utterances}"
                    yield TranscriptionFrame(text, "", time_now_iso8601(), finalized=True)
                    await self.emit_stt_usage_metrics()
                if self._turn_open:
                    self._turn_open = False
                    await self.broadcast_frame(ProposedUserStoppedSpeakingFrame)
        yield None


class ScriptedLLM(LLMService):
    """Answers each context with the next of ``replies``; tokens counted from the context. With ``rejected_at``, the
    provider rejects that request (0-based) for good, as Pipecat 1.14 has services say so. Each request reads the
    previous request's prompt from the provider's prompt cache; with ``prompt_net_of_cache`` the service reports its
    prompt tokens as Pipecat's Anthropic and Bedrock services do (net of the cache reads and writes, half of the rest
    being written to the cache), else as its OpenAI services do (gross, the cache reads included)."""

    def __init__(
        self,
        replies=REPLIES,
        rejected_at: int | None = None,
        name: str = LLM_NAME,
        prompt_net_of_cache: bool = False,
        **kwargs,
    ):
        unsupported = dict.fromkeys(
            ("system_instruction", "temperature", "max_tokens", "top_p", "top_k", "frequency_penalty")
            + ("presence_penalty", "seed", "filter_incomplete_user_turns", "user_turn_completion_config")
        )
        super().__init__(name=name, settings=LLMSettings(model=LLM_MODEL, **unsupported), **kwargs)
        self.requests = 0
        self.replies = replies
        self.rejected_at = rejected_at
        self.prompt_net_of_cache = prompt_net_of_cache
        self._cached_prompt = 0

    def can_generate_metrics(self) -> bool:
        return True

    async def process_frame(self, frame, direction):
        await super().process_frame(frame, direction)
        if not isinstance(frame, LLMContextFrame):
            await self.push_frame(frame, direction)
            return
        reply = self.replies[min(self.requests, len(self.replies) - 1)]
        self.requests += 1
        if self.requests - 1 == self.rejected_at:
            await self.push_error("the provider rejected the API key", force_treat_as_permanent=True)
            return
        if reply.startswith(SLOW_START):
            # the provider turns the first attempt away; the retry goes through
            await self.push_error("rate limited, retrying", category=ErrorCategory.RATE_LIMIT)
        prompt = sum(len(str(m.get("content", ""))) for m in frame.context.get_messages()) // 4 + 50
        await self.push_frame(LLMFullResponseStartFrame())
        await self.start_ttfb_metrics()
        await asyncio.sleep(LLM_DELAY)  # an interruption cancels this and Pipecat reports the time to it
        await self.stop_ttfb_metrics()
        await self.push_frame(LLMTextFrame(reply))
        completion = len(reply) // 4
        await self.start_llm_usage_metrics(self._usage(prompt, completion))
        await self.push_frame(LLMFullResponseEndFrame())

    def _usage(self, prompt: int, completion: int) -> LLMTokenUsage:
        read = min(self._cached_prompt, prompt)
        self._cached_prompt = prompt
        total = prompt + completion
        if not self.prompt_net_of_cache:
            return LLMTokenUsage(
                prompt_tokens=prompt, completion_tokens=completion, total_tokens=total, cache_read_input_tokens=read
            )
        written = (prompt - read) // 2
        return LLMTokenUsage(
            prompt_tokens=prompt - read - written,
            completion_tokens=completion,
            total_tokens=total,
            cache_read_input_tokens=read,
            cache_creation_input_tokens=written,
        )


class ToneTTS(TTSService):
    """Synthesises speech-like audio, 45 ms per character, after a first-byte delay; a text containing ``stall``
    stalls mid-synthesis, slower than real time (a playout underrun)."""

    def __init__(self, stall: str | None = None, **kwargs):
        super().__init__(
            name=TTS_NAME,
            push_start_frame=True,
            push_stop_frames=True,
            settings=TTSSettings(model=TTS_MODEL, voice="caller-friendly", language=None),
            **kwargs,
        )
        self.stall = stall

    def can_generate_metrics(self) -> bool:
        return True

    async def run_tts(self, text: str, context_id: str):
        await self.start_tts_usage_metrics(text)
        await asyncio.sleep(TTS_SLOW_DELAY if text.startswith(SLOW_START) else TTS_DELAY)
        await self.stop_ttfb_metrics()
        audio = tone(len(text) * CHARACTER_SECONDS, self.sample_rate, level=0.25, pitch=140.0).tobytes()
        chunk = int(self.sample_rate * 0.04) * 2
        for i, offset in enumerate(range(0, len(audio), chunk)):
            if self.stall and self.stall in text and i == 5:
                await asyncio.sleep(TTS_STALL)  # the provider stalls mid-utterance: playout runs dry
            yield TTSAudioRawFrame(audio[offset : offset + chunk], self.sample_rate, 1, context_id=context_id)


class CallerVoice(AudioStreamTrack):
    """The caller's microphone: 20-ms frames in real time, speech while ``speak`` has queued some, else silence."""

    def __init__(self):
        super().__init__()
        self._pending = np.zeros(0, dtype=np.int16)
        self._start: float | None = None
        self._samples = 0

    def speak(self, seconds: float) -> None:
        self._pending = np.concatenate([self._pending, tone(seconds, CALLER_RATE)])

    @property
    def speaking(self) -> bool:
        return self._pending.size > 0

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        n = int(CALLER_RATE * FRAME_SECONDS)
        if self._start is None:
            self._start = time.time()
        else:
            wait = self._start + self._samples / CALLER_RATE - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
        samples = np.zeros(n, dtype=np.int16)
        take = min(n, self._pending.size)
        samples[:take] = self._pending[:take]
        self._pending = self._pending[take:]
        frame = AudioFrame.from_ndarray(samples[None, :], format="s16", layout="mono")
        frame.sample_rate = CALLER_RATE
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, CALLER_RATE)
        self._samples += n
        return frame


class CallerEar:
    """Listens to the agent's audio track: when the agent speaks and when it last did. A pause shorter than
    ``QUIET`` (a stalled synthesis's) is inside an utterance."""

    def __init__(self):
        self.speech_started: list[float] = []
        self.closed = False  # the agent's track ended: the agent hung up
        self.last_speech = 0.0
        self.speaking = False
        self.frames = 0

    async def listen(self, track) -> None:
        try:
            while True:
                frame = await track.recv()
                self.frames += 1
                now = time.time()
                if rms(frame.to_ndarray()) > SPEECH_RMS:
                    if not self.speaking:
                        self.speech_started.append(now)
                    self.speaking = True
                    self.last_speech = now
                elif now - self.last_speech > QUIET:
                    self.speaking = False
        except MediaStreamError:
            self.closed = True
        except asyncio.CancelledError:
            return

    async def agent_speaks(self, after: int, timeout: float = 8.0) -> None:
        """Wait until the agent has started its ``after``-th utterance (1-based)."""
        deadline = time.time() + timeout
        while len(self.speech_started) < after and not self.closed and time.time() < deadline:
            await asyncio.sleep(0.02)

    async def agent_silent(self, timeout: float = 10.0) -> None:
        deadline = time.time() + timeout
        while self.speaking and time.time() < deadline:
            await asyncio.sleep(0.02)


class MetricsRecorder(BaseObserver):
    """What Pipecat itself reported in its MetricsFrames (to check the adapter against), and which TTS TTFBs it
    reported for a request an interruption cut: the TTS started a request (TTSStartedFrame), the caller interrupted,
    and only then came the request's TTFB."""

    def __init__(self):
        super().__init__(observe_every_push=False)
        self.items: list = []
        self.errors: list[ErrorFrame] = []
        self.vad_frames = 0
        self.transcripts = 0
        self.cut_tts_ttfb: list[float] = []
        self._interrupted_since_tts_started = False

    async def on_push_frame(self, data: FramePushed):
        frame = data.frame
        if isinstance(frame, ErrorFrame):
            self.errors.append(frame)
        elif isinstance(frame, VADUserStartedSpeakingFrame | VADUserStoppedSpeakingFrame):
            self.vad_frames += 1
        elif isinstance(frame, TranscriptionFrame):
            self.transcripts += 1
        elif isinstance(frame, InterruptionFrame):
            self._interrupted_since_tts_started = True
        elif isinstance(frame, TTSStartedFrame):
            self._interrupted_since_tts_started = False
        elif isinstance(frame, MetricsFrame):
            self.items.extend(frame.data)
            for item in frame.data:
                cut = self._interrupted_since_tts_started and isinstance(item, TTFBMetricsData)
                if cut and item.processor == TTS_NAME:
                    self.cut_tts_ttfb.append(item.value)

    def ttfb(self, processor: str) -> list[float]:
        return [i.value for i in self.items if isinstance(i, TTFBMetricsData) and i.processor == processor]

    def usage(self, kind) -> list:
        return [i for i in self.items if isinstance(i, kind)]


@dataclass
class CallResult:
    seconds: float
    agent_utterances: int
    caller_frames_heard: int
    stt: EndpointingSTT
    llm: ScriptedLLM
    recorder: MetricsRecorder
    connection: SmallWebRTCConnection
    notes: list = field(default_factory=list)


async def caller_script(voice: CallerVoice, ear: CallerEar) -> None:
    await ear.agent_speaks(1)  # the greeting
    await ear.agent_silent()
    await asyncio.sleep(0.3)
    voice.speak(USER_TURNS[0])
    await ear.agent_speaks(2)
    await ear.agent_silent()
    await asyncio.sleep(0.3)
    voice.speak(USER_TURNS[1])
    await ear.agent_speaks(3)
    await asyncio.sleep(BARGE_IN_AFTER)  # the agent is reading the long reply: the caller barges in
    voice.speak(USER_TURNS[2])
    await asyncio.sleep(USER_TURNS[2] + HELLO_AFTER)
    voice.speak(USER_TURNS[3])
    await ear.agent_speaks(4)
    await asyncio.sleep(COUGH_AFTER)
    voice.speak(COUGH)
    await ear.agent_silent()
    await asyncio.sleep(TURN_STOP_TIMEOUT)  # Pipecat ends the caller's wordless turn, then the caller hangs up


async def unanswered_call_script(voice: CallerVoice, ear: CallerEar) -> None:
    """The greeting, and a question the agent never answers: it hangs up."""
    await ear.agent_speaks(1)
    await ear.agent_silent()
    await asyncio.sleep(0.3)
    voice.speak(USER_TURNS[0])
    await ear.agent_speaks(2, timeout=4.0)


async def three_questions_script(voice: CallerVoice, ear: CallerEar) -> None:
    """The greeting, three questions and their answers, and the caller hangs up."""
    await ear.agent_speaks(1)
    await ear.agent_silent()
    for turn in (1, 2, 3):
        await asyncio.sleep(0.3)
        voice.speak(USER_TURNS[0])
        await ear.agent_speaks(turn + 1)
        await ear.agent_silent()


async def run_call(
    observers: list[BaseObserver],
    *,
    script=caller_script,
    replies=REPLIES,
    relay: UdpRelay | None = None,
    llm_rejected_at: int | None = None,
    tts_stall: str | None = None,
    stt_turns: bool = False,
    timeout: float = 25.0,
) -> CallResult:
    """Play the call the caller's ``script`` makes, the agent answering with ``replies``, over ``relay`` if given
    (an impaired network path). With ``llm_rejected_at``, the LLM fails for good at that request and the worker ends
    the call (``ProcessorUnusablePolicy.END``); the TTS stalls on a text containing ``tts_stall``. With
    ``stt_turns``, the STT detects the turns and no VAD runs (``ExternalUserTurnStrategies``)."""
    connection = SmallWebRTCConnection()
    transport = SmallWebRTCTransport(connection, TransportParams(audio_in_enabled=True, audio_out_enabled=True))
    stt = EndpointingSTT(detects_turns=stt_turns)
    llm, tts = ScriptedLLM(replies, rejected_at=llm_rejected_at), ToneTTS(stall=tts_stall)
    context = LLMContext([{"role": "system", "content": "You are a courteous support agent on a phone line."}])
    user_aggregator, assistant_aggregator = LLMContextAggregatorPair(
        context,
        user_params=LLMUserAggregatorParams(
            vad_analyzer=None if stt_turns else EnergyVAD(params=VAD_PARAMS),
            user_turn_strategies=ExternalUserTurnStrategies() if stt_turns else vad_turn_strategies(),
            user_turn_stop_timeout=TURN_STOP_TIMEOUT,
            empty_user_turn=EmptyUserTurnConfig(interrupted_prompt=None),  # the agent lets a cough pass
        ),
    )
    pipeline = Pipeline([transport.input(), stt, user_aggregator, llm, tts, transport.output(), assistant_aggregator])
    recorder = MetricsRecorder()
    worker = PipelineWorker(
        pipeline,
        params=PipelineParams(enable_metrics=True, enable_usage_metrics=True),
        observers=[*observers, recorder],
        idle_timeout_secs=None,
        enable_rtvi=False,
        processor_unusable_policy=ProcessorUnusablePolicy.END,
    )

    @transport.event_handler("on_client_connected")
    async def greet(transport, client):
        await worker.queue_frames([TTSSpeakFrame(GREETING)])

    @transport.event_handler("on_client_disconnected")
    async def hung_up(transport, client):
        await worker.cancel()

    caller = RTCPeerConnection()
    voice, ear = CallerVoice(), CallerEar()
    listening: list[asyncio.Task] = []

    @caller.on("track")
    def on_track(track):
        if track.kind == "audio":
            listening.append(asyncio.ensure_future(ear.listen(track)))

    caller.addTrack(voice)
    await caller.setLocalDescription(await caller.createOffer())
    offer = caller.localDescription.sdp
    if relay is not None:
        relay.peers["caller"] = host_candidate(offer)
        await relay.start(relay.peers["caller"][0])
        offer = through(offer, relay.address("agent_side"))
    await connection.initialize(sdp=offer, type="offer")
    answer = connection.get_answer()["sdp"]
    if relay is not None:
        relay.peers["agent"] = host_candidate(answer)
        answer = through(answer, relay.address("caller_side"))
    await caller.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    started = time.time()
    running = asyncio.ensure_future(runner.run())
    notes = []
    try:
        await asyncio.wait_for(script(voice, ear), timeout)
    except TimeoutError:
        notes.append("the caller's script timed out")
    finally:
        voice.stop()
        await caller.close()  # the caller hangs up
        try:
            await asyncio.wait_for(asyncio.shield(running), 5)
        except TimeoutError:
            notes.append("the pipeline did not see the hang-up; ended by the application")
            await worker.queue_frame(EndFrame())
            await asyncio.wait_for(running, 10)
        for task in listening:
            task.cancel()
        if relay is not None:
            relay.close()
    return CallResult(time.time() - started, len(ear.speech_started), ear.frames, stt, llm, recorder, connection, notes)


def play(observers: list[BaseObserver], **kwargs) -> CallResult:
    return asyncio.run(run_call(observers, **kwargs))
