"""A LiveKit AgentSession call with audio, offline, in real time (about 15 s).

The agent greets with ``session.say``, not interruptible, so the caller's audio is gated meanwhile. The caller, a
microphone speaking speech-like audio, asks twice; during the second, long answer says "uh-huh" (a false
interruption: the agent pauses, then resumes), then barges in, and is answered a third time. STT: deepgram/nova-3,
batch, through LiveKit's StreamAdapter and an energy VAD. LLM: LiveKit Inference's "openai/gpt-4o-mini" (provider
"livekit"), whose first request is rate limited and retried. TTS: a FallbackAdapter whose first TTS (elevenlabs)
fails with HTTP 503, so cartesia/sonic-2 speaks; the first answer stalls mid-utterance and the playout device runs
dry. What LiveKit itself reported (the conversation items with their metrics, the session's usage, the state changes,
the errors, the fallback adapter's events) is kept for the test.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from livekit.agents import Agent, AgentSession, APIConnectOptions, tts
from livekit.agents.voice.agent_session import SessionConnectOptions

from tests.frameworks.livekit_fakes import (
    TTS_RATE,
    BatchSTT,
    CallerMicrophone,
    EnergyVAD,
    FailingTTS,
    PlayoutDevice,
    ScriptedLLM,
    ToneTTS,
)
from voice_monitoring.client.livekit import monitor_session

GREETING = "Hello, how can I help?"
REPLIES = [
    "It arrives on Friday, it left yesterday.",
    "Let me read you the full tracking history, starting with the warehouse in Dallas, then the sorting "
    "center, then the local depot near you, and finally the van.",
    "Sure, I will text you the link.",
]
CALL, EARLIER, GREETED = "call", "earlier", "greeted"
TURN_HANDLING = {
    "turn_detection": "vad",
    "endpointing": {"min_delay": 0.3},
    "interruption": {"mode": "vad", "min_duration": 0.4, "false_interruption_timeout": 0.5},
    "preemptive_generation": {"enabled": False},
}


@dataclass
class CallRecord:
    """What the framework reported during the call, and what the devices saw."""

    items: list = field(default_factory=list)  # ChatMessage objects, as conversation_item_added gave them
    agent_states: list = field(default_factory=list)
    user_states: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # the error events' LLMError, STTError, TTSError
    false_interruptions: list = field(default_factory=list)  # agent_false_interruption's resumed
    availability: list = field(default_factory=list)  # (provider, available) from tts_availability_changed
    usage: object = None  # the session's AgentSessionUsage at the end
    tts_sample_rate: int = 0
    device: PlayoutDevice | None = None
    monitor: object = None
    room: object = None
    seconds: float = 0.0

    def messages(self, role: str | None = None) -> list:
        return [item for item in self.items if getattr(item, "type", None) == "message" and role in (None, item.role)]


def _next_state(session: AgentSession, event: str, state: str) -> asyncio.Future:
    future = asyncio.get_running_loop().create_future()

    def seen(ev) -> None:
        if ev.new_state == state and not future.done():
            future.set_result(ev.created_at)
            session.off(event, seen)

    session.on(event, seen)
    return future


async def _play(call_id: str, tenant: str, client, room, interval: float, kind: str, output_rate: int) -> CallRecord:
    earlier = kind == EARLIER
    started = time.monotonic()
    record = CallRecord()
    voices = tts.FallbackAdapter(
        [
            FailingTTS("elevenlabs", "eleven_flash_v2_5"),
            ToneTTS("cartesia", "sonic-2", stall_on="Friday", stall_after=0.4, stall=1.0),
        ],
        max_retry_per_tts=0,
    )
    voices.on("tts_availability_changed", lambda ev: record.availability.append((ev.tts.provider, ev.available)))
    session = AgentSession(
        stt=BatchSTT("speechmatics" if earlier else "deepgram", "enhanced" if earlier else "nova-3"),
        vad=EnergyVAD(min_silence=0.3),
        llm=ScriptedLLM("livekit", "openai/gpt-4o-mini", REPLIES, rate_limited=1),
        tts=voices,
        turn_handling=TURN_HANDLING,
        aec_warmup_duration=None,
        user_away_timeout=None,
        session_close_transcript_timeout=0.1,
        conn_options=SessionConnectOptions(
            llm_conn_options=APIConnectOptions(max_retry=2, retry_interval=0.1),
            max_unrecoverable_errors=0,  # the first LLM request that fails for good ends the call
        ),
    )
    microphone, device = CallerMicrophone(), PlayoutDevice(output_rate)
    session.input.audio, session.output.audio = microphone, device
    record.device, record.tts_sample_rate, record.room = device, voices.sample_rate, room
    session.on("conversation_item_added", lambda ev: record.items.append(ev.item))
    session.on("agent_state_changed", lambda ev: record.agent_states.append((ev.new_state, ev.created_at)))
    session.on("user_state_changed", lambda ev: record.user_states.append((ev.new_state, ev.created_at)))
    session.on("agent_false_interruption", lambda ev: record.false_interruptions.append(ev.resumed))
    session.on("error", lambda ev: record.errors.append(ev.error))
    record.monitor = monitor_session(session, call_id, tenant=tenant, client=client, room=room, interval=interval)
    await session.start(Agent(instructions="Answer the caller about their order."))
    if earlier and room is not None:  # the media connection drops once and recovers
        asyncio.get_running_loop().call_later(3.0, room.emit, "reconnecting")
        asyncio.get_running_loop().call_later(3.5, room.emit, "reconnected")
    try:
        await asyncio.wait_for(_converse(session, microphone, kind), 25)
    finally:
        record.usage = session.usage
        await session.aclose()
        microphone.close()
        await device.aclose()
        await record.monitor.wait_ended()
    record.seconds = time.monotonic() - started
    return record


async def _converse(session: AgentSession, microphone: CallerMicrophone, kind: str) -> None:
    await session.say(GREETING, allow_interruptions=False)
    if kind == GREETED:
        return
    for asked in range(2):
        await asyncio.sleep(0.4)
        speaking = _next_state(session, "agent_state_changed", "speaking")
        await microphone.speak(1.0)
        await speaking
        if asked == 0:
            await _next_state(session, "agent_state_changed", "listening")
    await asyncio.sleep(0.6)  # into the long answer, the caller says "uh-huh": the agent pauses, then resumes
    resumed = _next_state(session, "agent_state_changed", "speaking")
    await microphone.speak(0.5)
    await resumed
    await asyncio.sleep(0.6)  # and then barges in
    await microphone.speak(1.0)
    await _next_state(session, "agent_state_changed", "speaking")
    await _next_state(session, "agent_state_changed", "listening")
    await asyncio.sleep(0.3)
    if kind == EARLIER:  # a fourth question, which the LLM fails to answer: the call ends in an error
        closed = asyncio.get_running_loop().create_future()
        session.on("close", lambda ev: closed.done() or closed.set_result(ev))
        await microphone.speak(1.0)
        await closed


def play(
    call_id: str, tenant: str, client, room=None, interval: float = 5.0, kind: str = CALL, output_rate: int = TTS_RATE
) -> CallRecord:
    """The call of ``kind``: CALL; EARLIER, the same played earlier in a run, with an STT vendor that has no price, a
    connection that drops once, and an LLM that fails a fourth question, which ends the call in an error; GREETED,
    a greeting and the agent hangs up. ``output_rate``: the sample rate the playout device asks for."""
    return asyncio.run(_play(call_id, tenant, client, room, interval, kind, output_rate))
