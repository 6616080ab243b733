"""LiveKit Agents adapter: reports an AgentSession's call to the exporter.

    from voice_monitoring.client.livekit import monitor_session
    monitor_session(session, tenant="acme")          # before `await session.start(...)`

Tested with livekit-agents 1.8 (see docs/integrations/livekit.md for the mapping and the supported versions).
"""

from __future__ import annotations

import logging
import re
import typing

from livekit.agents import APIConnectionError, APIStatusError, APITimeoutError, get_job_context
from livekit.agents.voice import events as session_events

from voice_monitoring.client.call import CallReporter
from voice_monitoring.client.sender import EventClient

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
    ("llm_usage", "output_tokens"): ("llm", "tokens_out"),
    ("tts_usage", "characters_count"): ("tts", "characters"),
    ("stt_usage", "audio_duration"): ("stt", "audio_seconds"),
}
# ChatMessage.metrics of an assistant reply -> (latency component, whose provider)
REPLY_COMPONENTS = (("llm_node_ttft", "llm_ttft", "llm_metadata"), ("tts_node_ttfb", "tts_ttfb", "tts_metadata"))


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


def monitor_session(
    session,
    call_id: str | None = None,
    *,
    tenant: str | None = None,
    provider: str | None = None,
    pipeline: str = "livekit",
    transport: str = "webrtc",
    client: EventClient | None = None,
) -> SessionMonitor:
    """Attach to ``session`` and report its call (``call_id`` defaults to the LiveKit job's id)."""
    return SessionMonitor(session, call_id, tenant, provider, pipeline, transport, client)


class SessionMonitor:
    def __init__(self, session, call_id, tenant, provider, pipeline, transport, client):
        if call_id is None:
            job = get_job_context(required=False)
            call_id = job.job.id if job is not None else None
        self.call = CallReporter(client, call_id, tenant, provider or self._llm_provider(session), pipeline)
        self._user_metrics: dict = {}
        self._user_messages = 0
        self._reaction: float | None = None
        self._usage_seen: dict[tuple, float] = {}
        handlers = {
            "conversation_item_added": self._on_item,
            "agent_state_changed": self._on_state,
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

    @staticmethod
    def _llm_provider(session) -> str | None:
        provider = getattr(getattr(session, "llm", None), "provider", None)
        return provider if isinstance(provider, str) and provider != "unknown" else None

    @staticmethod
    def _guarded(handler):
        def run(event):
            try:
                handler(event)
            except Exception:  # monitoring must never break the agent
                log.debug("monitoring %s failed", getattr(event, "type", event), exc_info=True)

        return run

    def _on_item(self, event) -> None:
        item = event.item
        if getattr(item, "type", None) != "message":
            return  # an AgentHandoff or a configuration update is not a turn
        metrics = dict(item.metrics or {})
        if item.role == "user":
            self._user_metrics = metrics
            self._user_messages += 1
            return
        if item.role != "assistant":
            return
        user, self._user_metrics = self._user_metrics, {}
        call = self.call
        stt_provider = (metrics.get("stt_metadata") or {}).get("model_provider")
        call.latency("stt", user.get("transcription_delay"), stt_provider)
        for key, component, metadata in REPLY_COMPONENTS:
            call.latency(component, metrics.get(key), (metrics.get(metadata) or {}).get("model_provider"))
        speech = None
        if "started_speaking_at" in metrics and "stopped_speaking_at" in metrics:
            speech = metrics["stopped_speaking_at"] - metrics["started_speaking_at"]
        call.turn(
            metrics.get("e2e_latency"),  # absent in text mode: then there is no turn latency to report
            interrupted=item.interrupted,
            endpointing_seconds=user.get("end_of_turn_delay"),
            agent_speech_seconds=speech,
        )
        if item.interrupted:
            call.interruption("barge_in", self._reaction)
        self._reaction = None

    def _on_overlap(self, event) -> None:
        if getattr(event, "is_interruption", False):
            self._reaction = getattr(event, "detection_delay", None)

    def _on_false_interruption(self, event) -> None:
        self.call.interruption("false_interruption")

    def _on_state(self, event) -> None:
        state = AGENT_STATES.get(event.new_state)
        if state == "speaking" and not self._user_messages:
            state = "greeting"
        if state:
            self.call.set_state(state)

    def _on_usage(self, event) -> None:
        for usage in event.usage.model_usage:
            for (kind, field), (service, unit) in USAGE_FIELDS.items():
                if usage.type != kind:
                    continue
                key = (kind, usage.provider, usage.model, field)
                total = getattr(usage, field, 0) or 0
                delta = total - self._usage_seen.get(key, 0)
                if delta > 0:
                    self._usage_seen[key] = total
                    self.call.usage(service, unit, delta, usage.provider or None, usage.model or None)

    def _on_metrics(self, event) -> None:
        """Usage from metrics_collected, on releases without session_usage_updated."""
        metrics = event.metrics
        meta = getattr(metrics, "metadata", None)
        provider, model = getattr(meta, "model_provider", None), getattr(meta, "model_name", None)
        kind = getattr(metrics, "type", "")
        if kind == "llm_metrics":
            self.call.usage("llm", "tokens_in", metrics.prompt_tokens, provider, model)
            self.call.usage("llm", "tokens_out", metrics.completion_tokens, provider, model)
        elif kind == "tts_metrics":
            self.call.usage("tts", "characters", metrics.characters_count, provider, model)
        elif kind == "stt_metrics":
            self.call.usage("stt", "audio_seconds", metrics.audio_duration, provider, model)

    def _on_error(self, event) -> None:
        error = event.error
        component = str(getattr(error, "type", "agent")).removesuffix("_error")
        service = "llm" if component == "realtime_model" else component
        provider = getattr(event.source, "provider", None)
        self.call.error(
            component,
            error_kind(getattr(error, "error", None)),
            service if service in ("stt", "llm", "tts") else None,
            provider if isinstance(provider, str) else None,
        )

    def _on_close(self, event) -> None:
        reason = getattr(event.reason, "value", str(event.reason))
        self.call.end("error" if event.error is not None else CLOSE_REASONS.get(reason, reason))
