"""WebRTC statistics as transport events: a real aiortc call on loopback, and LiveKit's own stats protobufs."""

from __future__ import annotations

import asyncio
import fractions
import time

import pytest

from tests.client.exporter_metrics import exporter_value
from voice_monitoring.client import EventClient
from voice_monitoring.client.call import CallReporter
from voice_monitoring.client.webrtc_stats import TransportReading, codec_label, from_aiortc, from_livekit

RATE = 48000
FRAME = 960  # 20 ms


def test_codec_labels_are_the_schemas_codec_names():
    assert codec_label("audio/opus") == "opus"
    assert codec_label("audio/PCMU") == "pcmu"
    assert codec_label("audio/G722") == "g722"
    assert codec_label("audio/telephone-event") is None
    assert codec_label("video/VP8") is None
    assert codec_label(None) is None


# --- aiortc: two peer connections in this process, each sending a tone to the other -----------------------------


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


def only(report, kind: str):
    (found,) = [s for s in report.values() if s.type == kind]
    return found


@pytest.mark.frameworks("pipecat")
def test_an_aiortc_calls_statistics_become_a_transport_event_the_exporter_takes(exporter):
    from aiortc.sdp import SessionDescription

    async def call():
        caller, agent, close = await loopback_call()
        try:
            reading = TransportReading()
            first_report = await agent.getStats()
            first = reading.attrs(from_aiortc(first_report, agent))
            await asyncio.sleep(1.0)
            second_report = await agent.getStats()
            second = reading.attrs(from_aiortc(second_report, agent))
            return agent.localDescription.sdp, first_report, first, second_report, second
        finally:
            await close()

    answer, report, attrs, later_report, later = asyncio.run(asyncio.wait_for(call(), 30))

    # the codec both ends send is the first of the answer's audio codecs, as aiortc's own SDP parser reads it
    (audio,) = [m for m in SessionDescription.parse(answer).media if m.kind == "audio"]
    codec = audio.rtp.codecs[0]
    assert attrs["codec"] == codec.mimeType.split("/")[1].lower() == "opus"

    inbound, remote, outbound = (only(report, k) for k in ("inbound-rtp", "remote-inbound-rtp", "outbound-rtp"))
    transport = only(report, "transport")
    assert inbound.packetsReceived > 50
    # aiortc counts jitter in RTP timestamp units of the codec's clock, and fractionLost in 256ths
    assert attrs["jitter_seconds"] == pytest.approx(max(inbound.jitter, remote.jitter) / codec.clockRate)
    assert attrs["rtt_seconds"] == pytest.approx(remote.roundTripTime)
    assert 0 < attrs["rtt_seconds"] < 1
    loss_in = inbound.packetsLost / (inbound.packetsLost + inbound.packetsReceived)
    assert attrs["packet_loss_ratio"] == pytest.approx(max(loss_in, remote.fractionLost / 256))
    assert attrs["bytes_tx"] == outbound.bytesSent > 0
    # aiortc has no inbound byte count: the audio-only connection's transport bytes stand in
    assert attrs["bytes_rx"] == transport.bytesReceived > 0
    assert "concealment_ratio" not in attrs and "burst_ratio" not in attrs

    # the next reading covers the interval since the first
    assert later["bytes_tx"] == only(later_report, "outbound-rtp").bytesSent - outbound.bytesSent > 0
    assert later["bytes_rx"] == only(later_report, "transport").bytesReceived - transport.bytesReceived > 0
    later_in = only(later_report, "inbound-rtp")
    received = later_in.packetsReceived - inbound.packetsReceived
    lost = later_in.packetsLost - inbound.packetsLost
    assert received > 25
    later_remote = only(later_report, "remote-inbound-rtp")
    assert later["packet_loss_ratio"] == pytest.approx(max(lost / (lost + received), later_remote.fractionLost / 256))

    with EventClient(exporter.url) as client:
        reporter = CallReporter(client, call_id="webrtc-1", provider="openai")
        reporter.start("webrtc")
        reporter.transport(attrs)
        reporter.transport(later)
        assert client.flush(10)
        assert client.stats()["rejected"] == 0
    assert exporter_value(exporter.url, "ai_agent_transport_rtt_seconds_count", provider="openai") == 2
    assert exporter_value(exporter.url, "ai_agent_call_transport_rtt_seconds", call_id="webrtc-1") == later.get(
        "rtt_seconds", attrs["rtt_seconds"]
    )
    sent = exporter_value(exporter.url, "ai_agent_audio_bytes_total", provider="openai", direction="tx")
    assert sent == only(later_report, "outbound-rtp").bytesSent


# --- LiveKit: the statistics protobufs the room hands out, built with their own constructors ----------------------


def livekit_room_stats(received: int, lost: int, concealed: int, samples: int, sent_bytes: int, got_bytes: int, **kw):
    from livekit.rtc import stats as s
    from livekit.rtc.room import RtcStats

    def data(id_):
        return s.RtcStatsData(id=id_, timestamp=int(time.time() * 1000))

    # both connections use the same ids, as two libwebrtc peer connections do
    codec = s.RtcStats(
        codec=s.RtcStats.Codec(rtc=data("CO1"), codec=s.CodecStats(mime_type="audio/opus", clock_rate=48000))
    )
    stream = s.RtpStreamStats(ssrc=1111, kind="audio", codec_id="CO1", transport_id="T1")
    publisher = [
        codec,
        s.RtcStats(
            outbound_rtp=s.RtcStats.OutboundRtp(
                rtc=data("RTP1"), stream=stream, sent=s.SentRtpStreamStats(packets_sent=500, bytes_sent=sent_bytes)
            )
        ),
        s.RtcStats(
            remote_inbound_rtp=s.RtcStats.RemoteInboundRtp(
                rtc=data("RTP2"),
                stream=stream,
                received=s.ReceivedRtpStreamStats(packets_received=495, packets_lost=5, jitter=kw["remote_jitter"]),
                remote_inbound=s.RemoteInboundRtpStreamStats(
                    round_trip_time=kw["rtt"], fraction_lost=kw["fraction_lost"]
                ),
            )
        ),
        s.RtcStats(
            transport=s.RtcStats.Transport(
                rtc=data("T1"),
                transport=s.TransportStats(bytes_received=99, dtls_state=s.DtlsTransportState.DTLS_TRANSPORT_CONNECTED),
            )
        ),
    ]
    subscriber = [
        codec,
        s.RtcStats(
            inbound_rtp=s.RtcStats.InboundRtp(
                rtc=data("RTP1"),
                stream=stream,
                received=s.ReceivedRtpStreamStats(packets_received=received, packets_lost=lost, jitter=kw["jitter"]),
                inbound=s.InboundRtpStreamStats(
                    bytes_received=got_bytes,
                    concealed_samples=concealed,
                    total_samples_received=samples,
                    jitter_buffer_delay=1.5,
                    jitter_buffer_emitted_count=30,
                ),
            )
        ),
        s.RtcStats(
            candidate_pair=s.RtcStats.CandidatePair(
                rtc=data("CP1"), candidate_pair=s.CandidatePairStats(current_round_trip_time=0.5, nominated=True)
            )
        ),
        s.RtcStats(
            transport=s.RtcStats.Transport(
                rtc=data("T1"),
                transport=s.TransportStats(selected_candidate_pair_id="CP1", dtls_state=kw.get("dtls", 2)),
            )
        ),
    ]
    return RtcStats(publisher_stats=publisher, subscriber_stats=subscriber)


@pytest.mark.frameworks("livekit")
def test_livekit_room_statistics_become_transport_events():
    from livekit.rtc import stats as s

    reading = TransportReading()
    first = livekit_room_stats(1000, 10, 4800, 480000, 40000, 42000, jitter=0.012, remote_jitter=0.004, rtt=0.045,
                               fraction_lost=0.002)  # fmt: skip
    attrs = reading.attrs(from_livekit(first))
    inbound = first.subscriber_stats[1].inbound_rtp
    remote = first.publisher_stats[2].remote_inbound_rtp
    assert attrs["codec"] == "opus"
    assert attrs["rtt_seconds"] == remote.remote_inbound.round_trip_time
    assert attrs["jitter_seconds"] == max(inbound.received.jitter, remote.received.jitter)
    loss_in = inbound.received.packets_lost / (inbound.received.packets_lost + inbound.received.packets_received)
    assert attrs["packet_loss_ratio"] == pytest.approx(max(loss_in, remote.remote_inbound.fraction_lost))
    assert attrs["concealment_ratio"] == inbound.inbound.concealed_samples / inbound.inbound.total_samples_received
    assert attrs["bytes_rx"] == inbound.inbound.bytes_received
    assert attrs["bytes_tx"] == first.publisher_stats[1].outbound_rtp.sent.bytes_sent
    assert "connection_lost" not in attrs

    # the next poll: only what happened since, and the subscriber's inbound stream is not the publisher's RTP1
    later = livekit_room_stats(1500, 60, 28800, 720000, 55000, 60000, jitter=0.03, remote_jitter=0.004, rtt=0.06,
                               fraction_lost=0.0, dtls=s.DtlsTransportState.DTLS_TRANSPORT_FAILED)  # fmt: skip
    attrs = reading.attrs(from_livekit(later))
    assert attrs["packet_loss_ratio"] == pytest.approx(50 / 550)
    assert attrs["concealment_ratio"] == pytest.approx(24000 / 240000)
    assert attrs["bytes_rx"] == 60000 - 42000 and attrs["bytes_tx"] == 55000 - 40000
    assert attrs["jitter_seconds"] == 0.03 and attrs["rtt_seconds"] == 0.06
    assert attrs["connection_lost"] is True  # the subscriber's DTLS failed; said once
    assert "connection_lost" not in reading.attrs(from_livekit(later))


@pytest.mark.frameworks("livekit")
def test_a_receive_only_livekit_room_takes_its_rtt_from_the_selected_candidate_pair():
    room = livekit_room_stats(100, 0, 0, 9600, 0, 500, jitter=0.01, remote_jitter=0.0, rtt=0.0, fraction_lost=0.0)
    room.publisher_stats.clear()
    attrs = TransportReading().attrs(from_livekit(room))
    pair = room.subscriber_stats[2].candidate_pair.candidate_pair
    assert attrs["rtt_seconds"] == pair.current_round_trip_time
    assert attrs["packet_loss_ratio"] == 0 and attrs["concealment_ratio"] == 0
    assert "bytes_tx" not in attrs
