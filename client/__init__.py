"""Sending events to the exporter from inside a voice agent, without ever blocking it.

``EventClient`` depends on the standard library only; the framework adapters live in
``voice_monitoring.client.livekit`` and ``voice_monitoring.client.pipecat``.
"""

from voice_monitoring.client.sender import EventClient

__all__ = ["EventClient"]
