"""Offline LiveKit services and audio devices for a real AgentSession with audio, in real time.

Each class subclasses LiveKit's own base: a caller microphone (``io.AudioInput``) that speaks speech-like audio
when told to and silence otherwise, a playout device (``io.AudioOutput``) that plays what it is given at real
time from a short buffer, an energy ``vad.VAD``, a batch ``stt.STT`` (LiveKit runs it through its StreamAdapter
with the VAD), a scripted ``llm.LLM`` and a tone ``tts.TTS``. None of them reaches the network.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
from livekit import rtc
from livekit.agents import APIConnectOptions, APIStatusError, llm, stt, tts, utils, vad
from livekit.agents.llm import ChatChunk, ChoiceDelta, CompletionUsage
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN
from livekit.agents.voice.io import AudioInput, AudioOutput, AudioOutputCapabilities

FRAME_SECONDS = 0.01
CALLER_RATE = 16000
TTS_RATE = 24000
SPEECH_THRESHOLD = 0.01  # frame RMS (full scale 1) above which the VAD hears speech
UNDERRUN_SECONDS = 0.1


def speech(rate: int, start: int, count: int, f0: float, level: float) -> np.ndarray:
    """Voiced, syllable-modulated audio (harmonics of ``f0`` under a 4 Hz envelope) as int16 samples."""
    t = (start + np.arange(count)) / rate
    voiced = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in (1, 2, 3, 4))
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 4.0 * t)
    return (voiced / 2.1 * envelope * level * 32767).astype(np.int16)


def rms(frame: rtc.AudioFrame) -> float:
    samples = np.frombuffer(frame.data, dtype=np.int16).astype(np.float32) / 32768.0
    return float(np.sqrt(np.mean(samples * samples))) if samples.size else 0.0


def voiced_seconds(frame: rtc.AudioFrame) -> float:
    """How much of ``frame`` is speech, in 10-ms windows."""
    window = int(frame.sample_rate * FRAME_SECONDS)
    samples = np.frombuffer(frame.data, dtype=np.int16).astype(np.float32) / 32768.0
    windows = samples[: samples.size // window * window].reshape(-1, window)
    return float(np.count_nonzero(np.sqrt((windows * windows).mean(axis=1)) > SPEECH_THRESHOLD)) * FRAME_SECONDS


class CallerMicrophone(AudioInput):
    """A caller's microphone: 10 ms frames at real time, speech while ``speak`` runs, low noise otherwise."""

    def __init__(self) -> None:
        super().__init__(label="CallerMicrophone")
        self._loop = asyncio.get_running_loop()
        self._started = self._loop.time()
        self._sent = 0
        self._speaking_until = 0.0
        self._closed = False
        self._rng = np.random.default_rng(7)

    async def speak(self, seconds: float) -> None:
        self._speaking_until = self._loop.time() + seconds
        await asyncio.sleep(seconds)

    def close(self) -> None:
        self._closed = True

    async def __anext__(self) -> rtc.AudioFrame:
        if self._closed:
            raise StopAsyncIteration
        due = self._started + self._sent * FRAME_SECONDS
        delay = due - self._loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        count = int(CALLER_RATE * FRAME_SECONDS)
        if self._loop.time() < self._speaking_until:
            samples = speech(CALLER_RATE, self._sent * count, count, 140.0, 0.3)
        else:
            samples = self._rng.normal(0, 20, count).astype(np.int16)
        self._sent += 1
        return rtc.AudioFrame(samples.tobytes(), CALLER_RATE, 1, count)


class PlayoutDevice(AudioOutput):
    """A playout device: plays frames at real time from a buffer of at most ``ahead`` seconds (``capture_frame``
    waits while it is full, as a room's AudioSource does), can pause, reports playback started and finished, and
    counts underruns: the buffer running dry inside an utterance for more than ``UNDERRUN_SECONDS``, an audible
    gap."""

    def __init__(self, sample_rate: int = TTS_RATE, ahead: float = 0.25) -> None:
        super().__init__(label="PlayoutDevice", capabilities=AudioOutputCapabilities(pause=True), sample_rate=None)
        self._declared_rate = sample_rate
        self.ahead = ahead
        self._queue: list[rtc.AudioFrame] = []
        self._queued = 0.0
        self._active = False  # a segment is playing or waiting for frames
        self._flushed = False
        self._played = 0.0
        self._paused = False
        self._starved_at: float | None = None  # when the buffer ran dry inside the current utterance
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._task = asyncio.create_task(self._play())
        self.underruns = 0
        self.played_seconds = 0.0
        self.rates: set[int] = set()  # the sample rates of the frames it was given

    @property
    def sample_rate(self) -> int | None:
        return self._declared_rate

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        self.rates.add(frame.sample_rate)
        while self._queued > self.ahead:
            self._room.clear()
            await self._room.wait()
        if not self._active:
            self._active, self._flushed, self._played = True, False, 0.0
            self.on_playback_started(created_at=time.time())
        self._queue.append(frame)
        self._queued += frame.duration
        self._wake.set()

    def flush(self) -> None:
        super().flush()
        if self._active:
            self._flushed = True
            self._wake.set()

    def pause(self) -> None:
        self._paused = True

    def resume(self) -> None:
        self._paused = False
        self._wake.set()

    def clear_buffer(self) -> None:
        self._paused = False
        self._queue.clear()
        self._queued = 0.0
        self._room.set()
        if self._active:
            self._finish(interrupted=True)

    def _finish(self, interrupted: bool) -> None:
        self._active, self._starved_at = False, None
        self.on_playback_finished(playback_position=self._played, interrupted=interrupted)

    async def _play(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if self._paused:
                self._starved_at = None
                self._wake.clear()
                await self._wake.wait()
                continue
            if not self._queue:
                if self._active and self._flushed:
                    self._finish(interrupted=False)
                elif self._active and self._starved_at is None:
                    self._starved_at = loop.time()
                self._wake.clear()
                await self._wake.wait()
                continue
            if self._starved_at is not None and loop.time() - self._starved_at > UNDERRUN_SECONDS:
                self.underruns += 1
            self._starved_at = None
            frame = self._queue.pop(0)
            self._queued -= frame.duration
            self._room.set()
            await asyncio.sleep(frame.duration)
            self._played += frame.duration
            self.played_seconds += frame.duration

    async def aclose(self) -> None:
        await utils.aio.cancel_and_wait(self._task)


class EnergyVAD(vad.VAD):
    """Speech where a 10 ms frame's RMS is above the threshold: starts after ``min_speech`` of it, ends after
    ``min_silence`` without it."""

    def __init__(self, min_speech: float = 0.1, min_silence: float = 0.45) -> None:
        super().__init__(capabilities=vad.VADCapabilities(update_interval=0.03))
        self.min_speech, self.min_silence = min_speech, min_silence

    @property
    def model(self) -> str:
        return "energy"

    @property
    def provider(self) -> str:
        return "test"

    def stream(self) -> vad.VADStream:
        return _EnergyVADStream(self)


class _EnergyVADStream(vad.VADStream):
    async def _main_task(self) -> None:
        v: EnergyVAD = self._vad  # type: ignore[assignment]
        speaking, speech_run, silence_run, speech_total, frames, index = False, 0.0, 0.0, 0.0, [], 0
        recent: list[rtc.AudioFrame] = []
        async for item in self._input_ch:
            if not isinstance(item, rtc.AudioFrame):  # a flush: a hard segment boundary
                speaking, speech_run, silence_run, speech_total, frames, recent = False, 0.0, 0.0, 0.0, [], []
                continue
            index += item.samples_per_channel
            voiced = rms(item) > SPEECH_THRESHOLD
            duration = item.duration
            if voiced:
                speech_run, silence_run = speech_run + duration, 0.0
            else:
                speech_run, silence_run = 0.0, silence_run + duration
            if not speaking:
                recent = (recent + [item])[-30:]
                if speech_run >= v.min_speech:
                    speaking, speech_total, frames = True, speech_run, list(recent)
                    self._send(vad.VADEventType.START_OF_SPEECH, index, speech_total, 0.0, frames=list(frames))
            else:
                frames.append(item)
                if voiced:
                    speech_total += duration
                if silence_run >= v.min_silence:
                    self._send(vad.VADEventType.END_OF_SPEECH, index, speech_total, silence_run, frames=frames)
                    speaking, speech_total, frames, recent = False, 0.0, [], []
            if index // item.samples_per_channel % 3 == 0:
                self._send(
                    vad.VADEventType.INFERENCE_DONE,
                    index,
                    speech_total if speaking else 0.0,
                    silence_run,
                    frames=[item],
                    speaking=voiced,
                    raw_speech=speech_run,
                    raw_silence=silence_run,
                )

    def _send(self, kind, index, speech_total, silence, *, frames, speaking=None, raw_speech=0.0, raw_silence=0.0):
        self._event_ch.send_nowait(
            vad.VADEvent(
                type=kind,
                samples_index=index,
                timestamp=time.time(),
                speech_duration=speech_total,
                silence_duration=silence,
                frames=frames,
                probability=1.0 if speaking else 0.0,
                speaking=bool(speaking) if speaking is not None else kind != vad.VADEventType.END_OF_SPEECH,
                raw_accumulated_speech=raw_speech,
                raw_accumulated_silence=raw_silence,
            )
        )


class BatchSTT(stt.STT):
    """Recognises an utterance after ``delay`` seconds: a word per 0.3 s of speech in it, nothing in less than
    ``min_speech`` (a backchannel or a noise)."""

    WORDS = ["where", "is", "my", "order", "please", "tell", "me", "when", "it", "arrives"]

    def __init__(self, provider: str, model: str, delay: float = 0.12, min_speech: float = 0.7) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=False, interim_results=False))
        self._provider, self._model, self._delay, self.min_speech = provider, model, delay, min_speech

    @property
    def provider(self) -> str:
        return self._provider

    @property
    def model(self) -> str:
        return self._model

    async def _recognize_impl(self, buffer, *, language=NOT_GIVEN, conn_options: APIConnectOptions):
        await asyncio.sleep(self._delay)
        voiced = voiced_seconds(utils.merge_frames(buffer))
        words = round(voiced / 0.3) if voiced >= self.min_speech else 0
        text = " ".join(self.WORDS[i % len(self.WORDS)] for i in range(words))
        return stt.SpeechEvent(
            type=stt.SpeechEventType.FINAL_TRANSCRIPT,
            alternatives=[stt.SpeechData(language="en", text=text, confidence=0.9)],
        )


class ScriptedLLM(llm.LLM):
    """Answers the n-th user message with ``replies[n - 1]``, streamed word by word after ``ttft``; its first
    ``rate_limited`` requests fail with HTTP 429, and a request past its replies with HTTP 503, not retried. Each
    request reads the previous answered request's prompt from the provider's prompt cache."""

    def __init__(self, provider: str, model: str, replies: list[str], ttft: float = 0.2, rate_limited: int = 0):
        super().__init__()
        self._provider, self._model, self.replies, self.ttft = provider, model, replies, ttft
        self.rate_limited = rate_limited
        self.cached_prompt = 0

    @property
    def provider(self) -> str:
        return self._provider

    @property
    def model(self) -> str:
        return self._model

    def chat(self, *, chat_ctx, tools=None, conn_options=DEFAULT_API_CONNECT_OPTIONS, **kwargs):
        return _ScriptedStream(self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options)


class _ScriptedStream(llm.LLMStream):
    async def _run(self) -> None:
        scripted: ScriptedLLM = self._llm  # type: ignore[assignment]
        if scripted.rate_limited > 0:
            scripted.rate_limited -= 1
            raise APIStatusError("rate limited", status_code=429, retryable=True)
        asked = sum(1 for item in self._chat_ctx.items if getattr(item, "role", None) == "user")
        if asked > len(scripted.replies):
            raise APIStatusError("service unavailable", status_code=503, retryable=False)
        reply = scripted.replies[max(asked, 1) - 1]
        await asyncio.sleep(scripted.ttft)
        for word in reply.split(" "):
            self._event_ch.send_nowait(ChatChunk(id="r", delta=ChoiceDelta(role="assistant", content=word + " ")))
            await asyncio.sleep(0.01)
        prompt = sum(len(str(item.content)) for item in self._chat_ctx.items if hasattr(item, "content")) // 4
        completion = len(reply) // 4
        cached, scripted.cached_prompt = min(scripted.cached_prompt, prompt), prompt
        usage = CompletionUsage(
            completion_tokens=completion,
            prompt_tokens=prompt,  # cached tokens included, as LiveKit counts them
            prompt_cached_tokens=cached,
            total_tokens=prompt + completion,
        )
        self._event_ch.send_nowait(ChatChunk(id="r", usage=usage))


class ToneTTS(tts.TTS):
    """Speaks ``seconds_per_char`` of voiced audio per character, produced ``speed`` times faster than real time
    after ``ttfb``; text containing ``stall_on`` stops producing for ``stall`` seconds once ``stall_after``
    seconds of it are out (a provider that falls behind real time mid-utterance)."""

    def __init__(
        self,
        provider: str,
        model: str,
        *,
        ttfb: float = 0.12,
        seconds_per_char: float = 0.045,
        speed: float = 4.0,
        stall_on: str | None = None,
        stall_after: float = 0.6,
        stall: float = 0.7,
    ) -> None:
        super().__init__(capabilities=tts.TTSCapabilities(streaming=False), sample_rate=TTS_RATE, num_channels=1)
        self._provider, self._model = provider, model
        self.ttfb, self.seconds_per_char, self.speed = ttfb, seconds_per_char, speed
        self.stall_on, self.stall_after, self.stall = stall_on, stall_after, stall

    @property
    def provider(self) -> str:
        return self._provider

    @property
    def model(self) -> str:
        return self._model

    def synthesize(self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS):
        return _ToneStream(tts=self, input_text=text, conn_options=conn_options)


class _ToneStream(tts.ChunkedStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        voice: ToneTTS = self._tts  # type: ignore[assignment]
        output_emitter.initialize(
            request_id=utils.shortuuid("tone_"), sample_rate=TTS_RATE, num_channels=1, mime_type="audio/pcm"
        )
        await asyncio.sleep(voice.ttfb)
        total = int(len(self._input_text.strip()) * voice.seconds_per_char * TTS_RATE)
        chunk = int(0.05 * TTS_RATE)
        stall = voice.stall_on is not None and voice.stall_on in self._input_text
        for start in range(0, total, chunk):
            count = min(chunk, total - start)
            output_emitter.push(speech(TTS_RATE, start, count, 210.0, 0.25).tobytes())
            await asyncio.sleep(count / TTS_RATE / voice.speed)
            if stall and start / TTS_RATE >= voice.stall_after:
                stall = False
                await asyncio.sleep(voice.stall)
        output_emitter.flush()


class FailingTTS(ToneTTS):
    """A TTS whose every request fails with HTTP 503."""

    def synthesize(self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS):
        return _FailingStream(tts=self, input_text=text, conn_options=conn_options)


class _FailingStream(tts.ChunkedStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        await asyncio.sleep(0.02)
        raise APIStatusError("service unavailable", status_code=503, retryable=True)


class StatsRoom(rtc.EventEmitter):
    """Stands in for a connected ``rtc.Room`` where no LiveKit server runs: ``get_rtc_stats`` answers what
    ``Room.get_rtc_stats`` answers, real ``livekit.rtc`` statistics protobufs, for an Opus call whose counters
    grow with time (``loss`` of the caller's packets lost and the same share concealed; the server reports
    ``remote_loss`` of the agent's packets and ``rtt``); a lost connection is its ``reconnecting`` event, as a
    Room emits it."""

    def __init__(self, rtt: float = 0.08, jitter: float = 0.012, loss: float = 0.02, remote_loss: float = 0.01):
        super().__init__()
        self.rtt, self.jitter, self.loss, self.remote_loss = rtt, jitter, loss, remote_loss
        self._started = time.monotonic()
        self.answers: list = []  # every RtcStats handed out

    def isconnected(self) -> bool:
        return True

    async def get_rtc_stats(self):
        from livekit.rtc import stats as s
        from livekit.rtc.room import RtcStats

        elapsed = time.monotonic() - self._started
        now_ms = int(time.time() * 1000)
        expected = int(elapsed * 50)  # 20-ms packets
        lost = int(expected * self.loss)
        samples = int(elapsed * 48000)

        def data(id_: str):
            return s.RtcStatsData(id=id_, timestamp=now_ms)

        codec = s.RtcStats(
            codec=s.RtcStats.Codec(rtc=data("CO1"), codec=s.CodecStats(mime_type="audio/opus", clock_rate=48000))
        )
        stream = s.RtpStreamStats(ssrc=4242, kind="audio", codec_id="CO1", transport_id="T1")
        publisher = [
            codec,
            s.RtcStats(
                outbound_rtp=s.RtcStats.OutboundRtp(
                    rtc=data("OUT1"),
                    stream=stream,
                    sent=s.SentRtpStreamStats(packets_sent=expected, bytes_sent=expected * 80),
                )
            ),
            s.RtcStats(
                remote_inbound_rtp=s.RtcStats.RemoteInboundRtp(
                    rtc=data("RIN1"),
                    stream=stream,
                    received=s.ReceivedRtpStreamStats(packets_received=expected, packets_lost=0, jitter=0.004),
                    remote_inbound=s.RemoteInboundRtpStreamStats(
                        round_trip_time=self.rtt, fraction_lost=self.remote_loss
                    ),
                )
            ),
        ]
        subscriber = [
            codec,
            s.RtcStats(
                inbound_rtp=s.RtcStats.InboundRtp(
                    rtc=data("IN1"),
                    stream=stream,
                    received=s.ReceivedRtpStreamStats(
                        packets_received=expected - lost, packets_lost=lost, jitter=self.jitter
                    ),
                    inbound=s.InboundRtpStreamStats(
                        bytes_received=(expected - lost) * 80,
                        concealed_samples=int(samples * self.loss),
                        total_samples_received=samples,
                    ),
                )
            ),
        ]
        answer = RtcStats(publisher_stats=publisher, subscriber_stats=subscriber)
        self.answers.append(answer)
        return answer
