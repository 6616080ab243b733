"""A UDP relay between two WebRTC peers on this machine that delays every packet and drops a share of the RTP media
packets, each way: an impaired network path for a real call.

Each peer is told (in the SDP it receives) that the other is at one of the relay's ports: the caller's offer reaches
the agent naming port ``agent_side`` as the caller's only candidate, the agent's answer reaches the caller naming
``caller_side`` as the agent's. ICE checks, DTLS, RTP and RTCP all go through the relay, so RTT, loss and jitter
are what the two WebRTC stacks measure on the impaired path.
"""

from __future__ import annotations

import asyncio
import re

CANDIDATE = re.compile(r"^a=candidate:(\S+) (\d) udp (\d+) (\S+) (\d+) typ host(.*)$")
# RFC 7983: a first byte of 128-191 is RTP or RTCP; RTCP's packet types 200-204 sit in the second byte
RTCP_TYPES = range(200, 205)


def _is_rtp_media(packet: bytes) -> bool:
    return len(packet) > 1 and 128 <= packet[0] <= 191 and packet[1] not in RTCP_TYPES


def host_candidate(sdp: str) -> tuple[str, int]:
    """The address of the first IPv4 host candidate of a description."""
    for line in sdp.splitlines():
        match = CANDIDATE.match(line)
        if match and ":" not in match[4]:
            return match[4], int(match[5])
    raise ValueError("no IPv4 host candidate in the description")


def through(sdp: str, address: tuple[str, int]) -> str:
    """The description with its one IPv4 host candidate moved to ``address`` and every other candidate removed."""
    lines, moved = [], False
    for line in sdp.splitlines():
        match = CANDIDATE.match(line)
        if match:
            if moved or ":" in match[4]:
                continue
            line = f"a=candidate:{match[1]} {match[2]} udp {match[3]} {address[0]} {address[1]} typ host{match[6]}"
            moved = True
        elif line.startswith("c=IN IP4 "):
            line = f"c=IN IP4 {address[0]}"
        elif line.startswith("m=audio "):
            fields = line.split(" ")
            fields[1] = str(address[1])
            line = " ".join(fields)
        lines.append(line)
    return "\r\n".join(lines) + "\r\n"


class _Side(asyncio.DatagramProtocol):
    def __init__(self, relay: UdpRelay, name: str):
        self.relay, self.name = relay, name
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.relay._received(self.name, data, addr)


class UdpRelay:
    """Relays between a caller and an agent with ``delay`` seconds one way and ``loss`` of RTP media packets dropped
    each way, evenly spread (every 1/loss-th packet: random loss without bursts, as G.107's BurstR = 1 has it, and
    the same share in every stretch of the call)."""

    def __init__(self, delay: float = 0.0, loss: float = 0.0):
        self.delay, self.loss = delay, loss
        self._owed = {"to_agent": 0.0, "to_caller": 0.0}
        self._sides: dict[str, _Side] = {}
        self.peers: dict[str, tuple[str, int]] = {}  # "caller"/"agent" -> the peer's real address, from its SDP
        self.media = {"to_agent": 0, "to_caller": 0}
        self.dropped = {"to_agent": 0, "to_caller": 0}

    async def start(self, host: str) -> None:
        """Listen on ``host`` (the address the peers' own candidates have)."""
        loop = asyncio.get_running_loop()
        for name in ("agent_side", "caller_side"):
            _, protocol = await loop.create_datagram_endpoint(lambda n=name: _Side(self, n), local_addr=(host, 0))
            self._sides[name] = protocol

    def address(self, side: str) -> tuple[str, int]:
        return self._sides[side].transport.get_extra_info("sockname")[:2]

    def close(self) -> None:
        for side in self._sides.values():
            side.transport.close()

    def _received(self, side: str, data: bytes, addr) -> None:
        # the caller talks to the caller side (where it believes the agent is), the agent to the agent side
        if side == "caller_side":
            out, to, direction = self._sides["agent_side"], self.peers.get("agent"), "to_agent"
        else:
            out, to, direction = self._sides["caller_side"], self.peers.get("caller"), "to_caller"
        if to is None:
            return
        if _is_rtp_media(data):
            self.media[direction] += 1
            self._owed[direction] += self.loss
            if self._owed[direction] >= 1.0:
                self._owed[direction] -= 1.0
                self.dropped[direction] += 1
                return
        if self.delay:
            asyncio.get_running_loop().call_later(self.delay, out.transport.sendto, data, to)
        else:
            out.transport.sendto(data, to)
