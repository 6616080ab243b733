"""Sending events to the exporter from inside a voice agent, without ever blocking it.

``EventClient``, ``call.CallReporter`` (one call's events), ``worker_health`` and ``webrtc_stats`` depend on the
standard library only; ``audio_meter`` needs numpy, which both frameworks bring. The framework adapters live in
``voice_monitoring.client.livekit`` and ``voice_monitoring.client.pipecat``.
"""

from voice_monitoring.client.sender import EventClient

__all__ = ["EventClient"]
