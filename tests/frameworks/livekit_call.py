"""A LiveKit AgentSession call, offline: text mode with a scripted LLM, and the audio-only reply metrics as real
ConversationItemAddedEvent(ChatMessage(metrics=...)) objects emitted through the session."""

from __future__ import annotations

import asyncio
import time

from livekit.agents import Agent, AgentSession, APIStatusError, llm
from livekit.agents.inference.interruption import OverlappingSpeechEvent
from livekit.agents.llm import ChatChunk, ChatMessage, ChoiceDelta, CompletionUsage, LLMError
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS
from livekit.agents.voice.events import AgentFalseInterruptionEvent, ConversationItemAddedEvent, ErrorEvent

from voice_monitoring.client.livekit import monitor_session

PROMPT_TOKENS, COMPLETION_TOKENS = 400, 20
TEXT_TURNS = 2
# (e2e_latency, llm_node_ttft, tts_node_ttfb, transcription_delay, end_of_turn_delay, interrupted)
AUDIO_TURNS = (
    (0.8, 0.30, 0.15, 0.20, 0.25, False),
    (1.1, 0.45, 0.20, 0.25, 0.30, True),
    (0.9, 0.35, 0.18, 0.22, 0.28, False),
)
SPEECH_SECONDS = 2.0
BARGE_IN_REACTION = 0.3


class ScriptedLLM(llm.LLM):
    """An LLM that answers every request with the same sentence and reports its token usage."""

    @property
    def model(self) -> str:
        return "gpt-4o-mini"

    @property
    def provider(self) -> str:
        return "openai"

    def chat(self, *, chat_ctx, tools=None, conn_options=DEFAULT_API_CONNECT_OPTIONS, **kwargs):
        return _ScriptedStream(self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options)


class _ScriptedStream(llm.LLMStream):
    async def _run(self) -> None:
        await asyncio.sleep(0.05)
        self._event_ch.send_nowait(ChatChunk(id="r", delta=ChoiceDelta(role="assistant", content="Sure, done.")))
        usage = CompletionUsage(
            completion_tokens=COMPLETION_TOKENS,
            prompt_tokens=PROMPT_TOKENS,
            total_tokens=PROMPT_TOKENS + COMPLETION_TOKENS,
        )
        self._event_ch.send_nowait(ChatChunk(id="r", usage=usage))


def audio_turn(session: AgentSession, turn) -> None:
    e2e, ttft, ttfb, transcription, end_of_turn, interrupted = turn
    user = ChatMessage(
        role="user",
        content=["where is my order"],
        metrics={"transcription_delay": transcription, "end_of_turn_delay": end_of_turn},
    )
    session.emit("conversation_item_added", ConversationItemAddedEvent(item=user))
    if interrupted:
        session.emit(
            "overlapping_speech", OverlappingSpeechEvent(is_interruption=True, detection_delay=BARGE_IN_REACTION)
        )
    now = time.time()
    reply = ChatMessage(
        role="assistant",
        content=["It ships tomorrow."],
        interrupted=interrupted,
        metrics={
            "e2e_latency": e2e,
            "llm_node_ttft": ttft,
            "tts_node_ttfb": ttfb,
            "started_speaking_at": now - SPEECH_SECONDS,
            "stopped_speaking_at": now,
            "llm_metadata": {"model_name": "gpt-4o-mini", "model_provider": "openai"},
            "tts_metadata": {"model_name": "sonic-2", "model_provider": "cartesia"},
            "stt_metadata": {"model_name": "nova-3", "model_provider": "deepgram"},
        },
    )
    session.emit("conversation_item_added", ConversationItemAddedEvent(item=reply))


async def _play(call_id: str, tenant: str, client) -> None:
    scripted = ScriptedLLM()
    session = AgentSession(llm=scripted)
    monitor_session(session, call_id, tenant=tenant, client=client)
    await session.start(Agent(instructions="Answer in one sentence."))
    for _ in range(TEXT_TURNS):
        await session.run(user_input="hello")
    for turn in AUDIO_TURNS:
        audio_turn(session, turn)
    session.emit("agent_false_interruption", AgentFalseInterruptionEvent(resumed=True))
    failure = APIStatusError("too many requests", status_code=429)
    error = LLMError(timestamp=time.time(), label=scripted.label, error=failure, recoverable=True)
    session.emit("error", ErrorEvent(error=error, source=scripted))
    await session.aclose()


def play(call_id: str, tenant: str, client) -> None:
    asyncio.run(_play(call_id, tenant, client))
