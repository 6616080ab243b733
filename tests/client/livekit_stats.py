"""What ``livekit.rtc.Room.get_rtc_stats()`` returns, built from LiveKit's own statistics protobufs.

LiveKit's statistics messages are proto2 with every scalar field required: the room always sends all of them,
zero where libwebrtc has nothing. ``complete`` sets the ones a sample leaves out the same way.
"""

from __future__ import annotations

import time


def complete(message):
    """``message`` with every required field it lacks set to its zero value, as LiveKit sends it."""
    for field in message.DESCRIPTOR.fields:
        if field.message_type is not None:
            if field.is_required and not message.HasField(field.name):
                getattr(message, field.name).SetInParent()
            if not field.is_repeated and message.HasField(field.name):
                complete(getattr(message, field.name))
        elif field.is_required and not message.HasField(field.name):
            setattr(message, field.name, field.default_value)
    return message


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
                    round_trip_time=kw["rtt"],
                    round_trip_time_measurements=1 if kw["rtt"] else 0,
                    fraction_lost=kw["fraction_lost"],
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
    return RtcStats(
        publisher_stats=[complete(m) for m in publisher], subscriber_stats=[complete(m) for m in subscriber]
    )
