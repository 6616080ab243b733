"""WebRTC statistics as transport events: a real aiortc call on loopback, and LiveKit's own stats protobufs."""

from __future__ import annotations

import asyncio

import pytest

from tests.client.exporter_metrics import exporter_value
from tests.client.livekit_stats import livekit_room_stats
from tests.client.webrtc_loopback import ImpairingRelay, loopback_call
from voice_monitoring.client import EventClient
from voice_monitoring.client.call import CallReporter
from voice_monitoring.client.webrtc_stats import TransportReading, codec_label, from_aiortc, from_livekit


def test_codec_labels_are_the_schemas_codec_names():
    assert codec_label("audio/opus") == "opus"
    assert codec_label("audio/PCMU") == "pcmu"
    assert codec_label("audio/G722") == "g722"
    assert codec_label("audio/telephone-event") is None
    assert codec_label("video/VP8") is None
    assert codec_label(None) is None


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


@pytest.mark.frameworks("pipecat")
def test_loss_and_delay_put_on_a_real_call_are_read_and_move_the_mos_as_g107_predicts():
    """A relay drops every 20th RTP packet from the caller and delays every packet by 100 ms each way."""
    from voice_monitoring.scorer.emodel import Transport, estimate

    async def call(relay):
        caller, agent, close = await loopback_call(20, relay)
        try:
            await asyncio.sleep(3.0)
            attrs = TransportReading().attrs(from_aiortc(await agent.getStats(), agent))
            return attrs, relay and (relay.dropped, relay.rtp_from_caller)
        finally:
            await close()

    clean, _ = asyncio.run(asyncio.wait_for(call(None), 30))
    impaired, (dropped, sent) = asyncio.run(
        asyncio.wait_for(call(ImpairingRelay(drop_every=20, delay_seconds=0.1)), 40)
    )

    assert clean["packet_loss_ratio"] == 0 and clean["rtt_seconds"] < 0.05
    # the agent lost what the relay dropped (up to the packets still on their way), and waited 2 x 100 ms more
    assert sent > 150 and dropped == sent // 20
    assert impaired["packet_loss_ratio"] == pytest.approx(dropped / sent, abs=2 / sent)
    assert impaired["rtt_seconds"] == pytest.approx(clean["rtt_seconds"] + 0.2, abs=0.03)

    def mos(attrs, **induced):
        keys = ("rtt_seconds", "jitter_seconds", "packet_loss_ratio", "codec")
        return estimate(Transport(**{**{key: attrs.get(key) for key in keys}, **induced})).mos

    # the E-model's MOS from what the agent read, beside its MOS for the loss and delay the relay put on
    predicted = mos(impaired, packet_loss_ratio=dropped / sent, rtt_seconds=clean["rtt_seconds"] + 0.2)
    assert mos(impaired) == pytest.approx(predicted, abs=0.05)
    assert mos(clean) - mos(impaired) > 0.5  # G.107: about 0.75 for 5% random loss and 100 ms more each way


# --- LiveKit: the statistics protobufs the room hands out, built with their own constructors ----------------------


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
def test_a_livekit_room_without_a_round_trip_measurement_takes_its_rtt_from_the_selected_candidate_pair():
    # LiveKit sends every field: an RTT not measured yet is 0 s with no measurements
    room = livekit_room_stats(100, 0, 0, 9600, 700, 500, jitter=0.01, remote_jitter=0.0, rtt=0.0, fraction_lost=0.0)
    remote = room.publisher_stats[2].remote_inbound_rtp.remote_inbound
    assert remote.round_trip_time == 0 and remote.round_trip_time_measurements == 0
    pair = room.subscriber_stats[2].candidate_pair.candidate_pair
    attrs = TransportReading().attrs(from_livekit(room))
    assert attrs["rtt_seconds"] == pair.current_round_trip_time
    assert attrs["bytes_tx"] == 700
    # a room that only receives: no publisher statistics, no bytes sent
    room.publisher_stats.clear()
    attrs = TransportReading().attrs(from_livekit(room))
    assert attrs["rtt_seconds"] == pair.current_round_trip_time
    assert attrs["packet_loss_ratio"] == 0 and attrs["concealment_ratio"] == 0
    assert "bytes_tx" not in attrs


def test_a_reading_keeps_the_last_values_of_present_streams_only():
    reading = TransportReading()
    for poll in range(1000):  # a stream renegotiated at every poll
        stream = {"type": "inbound-rtp", "id": f"IT{poll}", "kind": "audio", "packetsReceived": 50, "packetsLost": 1}
        assert reading.attrs([stream])["packet_loss_ratio"] == pytest.approx(1 / 51)
    assert len(reading._last) <= 2
