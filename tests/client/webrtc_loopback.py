"""A real WebRTC call inside one process: two aiortc peer connections on loopback, each sending the other a tone,
directly or through a UDP relay that delays every packet and drops some of the caller's RTP packets."""

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


class ImpairingRelay:
    """A UDP relay between the two peers: every packet waits ``delay_seconds``, and every ``drop_every``-th RTP
    packet (not RTCP, STUN or DTLS) from the caller to the agent is dropped. Each peer is told the other is at
    the relay's side facing it, so all their traffic, connectivity checks included, goes through it."""

    def __init__(self, drop_every: int | None = None, delay_seconds: float = 0.0):
        self.drop_every, self.delay_seconds = drop_every, delay_seconds
        self.rtp_from_caller = self.dropped = 0
        self.toward_caller = self.toward_agent = None  # the relay's sockets
        self.caller_address = self.agent_address = None

    async def open(self, host: str) -> None:
        loop = asyncio.get_running_loop()
        relay = self

        class Side(asyncio.DatagramProtocol):
            def __init__(self, from_caller: bool):
                self.from_caller = from_caller

            def datagram_received(self, data, addr):
                relay.forward(data, self.from_caller)

        self.toward_caller, _ = await loop.create_datagram_endpoint(lambda: Side(True), local_addr=(host, 0))
        self.toward_agent, _ = await loop.create_datagram_endpoint(lambda: Side(False), local_addr=(host, 0))

    def forward(self, data: bytes, from_caller: bool) -> None:
        rtp = len(data) > 1 and 128 <= data[0] < 192 and not 192 <= data[1] <= 223
        if from_caller and rtp:
            self.rtp_from_caller += 1
            if self.drop_every and self.rtp_from_caller % self.drop_every == 0:
                self.dropped += 1
                return
        out, to = (self.toward_agent, self.agent_address) if from_caller else (self.toward_caller, self.caller_address)
        asyncio.get_running_loop().call_later(self.delay_seconds, out.sendto, data, to)

    def close(self) -> None:
        for side in (self.toward_caller, self.toward_agent):
            if side is not None:
                side.close()


def _through(sdp: str, relay_side) -> tuple[str, tuple[str, int]]:
    """``sdp`` with its candidates replaced by the relay's side, and the peer's own IPv4 host candidate."""
    lines, own = [], None
    host, port = relay_side.get_extra_info("sockname")[:2]
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            fields = line.split()
            if own is None and fields[2] == "udp" and "." in fields[4]:
                own = (fields[4], int(fields[5]))
                fields[4], fields[5] = host, str(port)
                lines.append(" ".join(fields))
            continue
        lines.append(line)
    return "\r\n".join(lines) + "\r\n", own


async def loopback_call(seconds_until_rtt: float = 10.0, relay: ImpairingRelay | None = None):
    """Two connected peers, each sending a tone and draining the other's; returns them once RTT is measured."""
    from aiortc import RTCPeerConnection, RTCSessionDescription
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
    offer = caller.localDescription
    if relay is not None:
        host = next(line.split()[4] for line in offer.sdp.splitlines() if line.startswith("a=candidate:"))
        await relay.open(host)
        sdp, relay.caller_address = _through(offer.sdp, relay.toward_agent)
        offer = RTCSessionDescription(sdp, "offer")
    await agent.setRemoteDescription(offer)
    agent.addTrack(tone_track(660))
    await agent.setLocalDescription(await agent.createAnswer())
    answer = agent.localDescription
    if relay is not None:
        sdp, relay.agent_address = _through(answer.sdp, relay.toward_caller)
        answer = RTCSessionDescription(sdp, "answer")
    await caller.setRemoteDescription(answer)

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
        if relay is not None:
            relay.close()

    return caller, agent, close
