"""A real WebRTC call inside one process: two aiortc peer connections on loopback, each sending the other a tone."""

from __future__ import annotations

import asyncio
import fractions
import time

RATE = 48000
FRAME = 960  # 20 ms


def tone_track(hz: float):
    import numpy as np
    from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
    from av import AudioFrame

    class Tone(MediaStreamTrack):
        kind = "audio"

        def __init__(self):
            super().__init__()
            self.pts, self.start = 0, None

        async def recv(self):
            if self.readyState != "live":
                raise MediaStreamError
            if self.start is None:
                self.start = time.monotonic()
            else:
                self.pts += FRAME
                await asyncio.sleep(max(0.0, self.start + self.pts / RATE - time.monotonic()))
            t = np.arange(self.pts, self.pts + FRAME) / RATE
            samples = (0.3 * 32767 * np.sin(2 * np.pi * hz * t)).astype("<i2")
            frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = RATE, self.pts, fractions.Fraction(1, RATE)
            return frame

    return Tone()


async def loopback_call(seconds_until_rtt: float = 10.0):
    """Two connected peers, each sending a tone and draining the other's; returns them once RTT is measured."""
    from aiortc import RTCPeerConnection
    from aiortc.contrib.media import MediaBlackhole

    caller, agent = RTCPeerConnection(), RTCPeerConnection()
    sinks = []

    def drain(track):
        sink = MediaBlackhole()
        sink.addTrack(track)
        sinks.append(sink)
        asyncio.ensure_future(sink.start())

    caller.on("track", drain)
    agent.on("track", drain)
    caller.addTrack(tone_track(440))
    await caller.setLocalDescription(await caller.createOffer())
    await agent.setRemoteDescription(caller.localDescription)
    agent.addTrack(tone_track(660))
    await agent.setLocalDescription(await agent.createAnswer())
    await caller.setRemoteDescription(agent.localDescription)

    deadline = time.monotonic() + seconds_until_rtt
    while time.monotonic() < deadline:
        report = await agent.getStats()
        remote = [s for s in report.values() if s.type == "remote-inbound-rtp" and s.roundTripTime is not None]
        inbound = [s for s in report.values() if s.type == "inbound-rtp" and s.packetsReceived > 50]
        if remote and inbound:
            break
        await asyncio.sleep(0.2)

    async def close():
        for sink in sinks:
            await sink.stop()
        await caller.close()
        await agent.close()

    return caller, agent, close
