"""A WebRTC connection's standard statistics (W3C webrtc-stats) as the attributes of ``transport`` events.

``TransportReading.attrs`` takes the statistics as W3C dictionaries: each has a ``type`` ("inbound-rtp",
"outbound-rtp", "remote-inbound-rtp", "codec", "candidate-pair", "transport", ...) and the W3C field names, with
the W3C units (seconds, ratios 0 to 1, cumulative counters). ``from_aiortc`` and ``from_livekit`` turn what the
two WebRTC stacks the adapters meet hand out into that form. Only audio streams count.

What one reading reports, for the interval since the previous one (counters are cumulative in the statistics,
so the reading keeps the last value of each stream):

- ``packet_loss_ratio``: packets lost over packets expected on the audio the agent received (inbound-rtp
  ``packetsLost``/``packetsReceived`` deltas), or the loss the far end reports on the audio the agent sent
  (remote-inbound-rtp ``fractionLost``), whichever is worse: a call is as good as its worse direction.
- ``jitter_seconds``: the worse of inbound-rtp ``jitter`` and remote-inbound-rtp ``jitter``.
- ``rtt_seconds``: remote-inbound-rtp ``roundTripTime``, else the selected candidate pair's
  ``currentRoundTripTime``.
- ``concealment_ratio``: inbound-rtp ``concealedSamples`` over ``totalSamplesReceived`` (deltas): the share of
  what the agent played out that the receiver made up for lost or late packets.
- ``codec``: the audio stream's codec ``mimeType`` without its "audio/" ("audio/opus" -> "opus").
- ``bytes_rx`` / ``bytes_tx``: inbound-rtp ``bytesReceived`` and outbound-rtp ``bytesSent`` deltas; when the
  RTP statistics carry no byte counts and the connection carries audio only, the transport's byte counts.
- ``connection_lost``: once, when the transport's DTLS or ICE state turns "failed".

Left out because the statistics cannot give them honestly: ``burst_ratio`` (loss burstiness needs the lengths of
loss runs; webrtc-stats counts packets only) and the receive jitter buffer delay (``jitterBufferDelay`` has no
place in the event schema: ``audio.jitter_buffer_depth`` is the agent's own playout buffer).
"""

from __future__ import annotations

import datetime
import functools
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from google.protobuf.descriptor import EnumDescriptor
    from google.protobuf.message import Message

AUDIO_CODEC_PREFIX = "audio/"
# Payload formats that travel beside the voice codec and never carry the voice themselves.
NOT_VOICE_CODECS = frozenset({"telephone-event", "cn", "red", "rtx", "ulpfec", "flexfec-03"})
FAILED_STATES = frozenset({"failed"})
# Counters whose deltas a reading takes, per stream type.
INBOUND_COUNTERS = ("packetsReceived", "packetsLost", "bytesReceived", "concealedSamples", "totalSamplesReceived")
OUTBOUND_COUNTERS = ("bytesSent",)

# One statistics dictionary: W3C field names to values.
Stats = dict[str, Any]


def codec_label(mime_type: object) -> str | None:
    """The codec of an audio ``mimeType`` as the event schema names codecs: "audio/PCMU" -> "pcmu"."""
    if not isinstance(mime_type, str) or not mime_type.lower().startswith(AUDIO_CODEC_PREFIX):
        return None
    name = mime_type[len(AUDIO_CODEC_PREFIX) :].strip().lower()
    return name if name and name not in NOT_VOICE_CODECS else None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return float(value)


def _is_audio(stats: Stats) -> bool:
    return (stats.get("kind") or stats.get("mediaType")) == "audio"


class TransportReading:
    """Reads one connection's statistics, poll after poll; ``attrs`` gives one ``transport`` event's attributes."""

    def __init__(self) -> None:
        self._last: dict[tuple[object, str], float] = {}
        self._failed = False

    def _delta(self, stream_id: object, counter: str, value: object) -> float | None:
        number = _number(value)
        if number is None:
            return None
        key = (stream_id, counter)
        previous = self._last.get(key, 0.0)
        self._last[key] = number
        # a counter that went back belongs to a restarted stream: it counts from zero again
        return number - previous if number >= previous else number

    def attrs(self, stats: Iterable[object]) -> dict[str, Any]:
        by_id: dict[object, Stats] = {s.get("id"): s for s in stats if isinstance(s, dict)}
        totals = dict.fromkeys(INBOUND_COUNTERS + OUTBOUND_COUNTERS, 0.0)
        seen: set[str] = set()
        jitters: list[float | None] = []
        rtts: list[float | None] = []
        fractions: list[float | None] = []
        codecs: list[str | None] = []
        rtp_kinds: set[object] = set()
        directions: set[str] = set()
        transports: list[Stats] = []
        pairs: list[Stats] = []
        for stream_id, s in by_id.items():
            kind = s.get("type")
            if kind in ("inbound-rtp", "outbound-rtp", "remote-inbound-rtp"):
                rtp_kinds.add(s.get("kind") or s.get("mediaType"))
                if not _is_audio(s):
                    continue
                directions.add(kind)
                codec_stats = by_id.get(s.get("codecId"))
                if codec_stats is not None:
                    codecs.append(codec_label(codec_stats.get("mimeType")))
            if kind == "inbound-rtp" and _is_audio(s):
                for counter in INBOUND_COUNTERS:
                    delta = self._delta(stream_id, counter, s.get(counter))
                    if delta is not None:
                        totals[counter] += delta
                        seen.add(counter)
                jitters.append(_number(s.get("jitter")))
            elif kind == "outbound-rtp" and _is_audio(s):
                delta = self._delta(stream_id, "bytesSent", s.get("bytesSent"))
                if delta is not None:
                    totals["bytesSent"] += delta
                    seen.add("bytesSent")
            elif kind == "remote-inbound-rtp" and _is_audio(s):
                jitters.append(_number(s.get("jitter")))
                fractions.append(_number(s.get("fractionLost")))
                if s.get("roundTripTimeMeasurements") != 0:  # LiveKit sends 0 s until the first measurement
                    rtts.append(_number(s.get("roundTripTime")))
            elif kind == "transport":
                transports.append(s)
            elif kind == "candidate-pair":
                pairs.append(s)

        attrs: dict[str, Any] = {}
        losses = [f for f in fractions if f is not None]
        if {"packetsReceived", "packetsLost"} <= seen:
            expected = totals["packetsReceived"] + totals["packetsLost"]
            if expected > 0:
                losses.append(max(totals["packetsLost"], 0.0) / expected)
        if losses:
            attrs["packet_loss_ratio"] = max(losses)
        jitter = [j for j in jitters if j is not None]
        if jitter:
            attrs["jitter_seconds"] = max(jitter)
        rtt = [r for r in rtts if r]  # a round trip of exactly 0 s is no measurement
        if not rtt:
            selected = {t.get("selectedCandidatePairId") for t in transports} - {None}
            in_use = [p for p in pairs if p.get("id") in selected] or [
                p for p in pairs if p.get("nominated") and p.get("state") == "succeeded"
            ]
            rtt = [r for r in (_number(p.get("currentRoundTripTime")) for p in in_use) if r]
        if rtt:
            attrs["rtt_seconds"] = max(rtt)
        if {"concealedSamples", "totalSamplesReceived"} <= seen and totals["totalSamplesReceived"] > 0:
            attrs["concealment_ratio"] = min(totals["concealedSamples"] / totals["totalSamplesReceived"], 1.0)
        codec = next((c for c in codecs if c), None) or next(
            (codec_label(s.get("mimeType")) for s in by_id.values() if s.get("type") == "codec"), None
        )
        if codec:
            attrs["codec"] = codec
        # without RTP byte counts, the bytes of a connection that carries nothing but this audio stand in
        audio_only = rtp_kinds == {"audio"} and transports
        for key, counter, direction in (
            ("bytes_rx", "bytesReceived", "inbound-rtp"),
            ("bytes_tx", "bytesSent", "outbound-rtp"),
        ):
            if counter in seen:
                attrs[key] = int(totals[counter])
            elif audio_only and direction in directions:
                attrs[key] = int(self._transport_bytes(transports, counter))
        failed = any(t.get("dtlsState") in FAILED_STATES or t.get("iceState") in FAILED_STATES for t in transports)
        if failed and not self._failed:
            attrs["connection_lost"] = True
        self._failed = failed
        # the last values of streams that are gone are dropped, so that a long call's renegotiations stay bounded
        self._last = {key: value for key, value in self._last.items() if key[0] in by_id}
        return attrs

    def _transport_bytes(self, transports: list[Stats], counter: str) -> float:
        return sum((self._delta(t.get("id"), counter, t.get(counter)) or 0.0 for t in transports), start=0.0)


# --- aiortc ---------------------------------------------------------------------------------------------------


def _answer_codec(connection: object) -> tuple[str, int] | None:
    """(mimeType, clockRate) of the first audio codec of the connection's answer: the one both ends send."""
    for description in (getattr(connection, "localDescription", None), getattr(connection, "remoteDescription", None)):
        if description is None or getattr(description, "type", None) != "answer":
            continue
        payload_types: list[str] = []
        for line in description.sdp.splitlines():
            if line.startswith("m="):
                if payload_types:
                    break
                fields = line[2:].split()
                if fields and fields[0] == "audio":
                    payload_types = fields[3:]
            elif payload_types and line.startswith("a=rtpmap:"):
                payload_type, _, encoding = line[len("a=rtpmap:") :].partition(" ")
                name, _, rest = encoding.partition("/")
                rate = rest.partition("/")[0]
                if payload_type == payload_types[0] and rate.isdigit():
                    return f"{AUDIO_CODEC_PREFIX}{name}", int(rate)
    return None


def _milliseconds(timestamp: object) -> float | None:
    if isinstance(timestamp, datetime.datetime):
        return timestamp.timestamp() * 1000.0
    return _number(timestamp)


def from_aiortc(report: Mapping[str, object], connection: object = None) -> list[Stats]:
    """An aiortc ``RTCStatsReport`` (``await pc.getStats()``) as W3C dictionaries.

    aiortc 1.16 fills inbound-rtp ``packetsReceived``, ``packetsLost``, ``jitter``; outbound-rtp
    ``packetsSent``, ``bytesSent``; remote-inbound-rtp (from the far end's RTCP receiver reports)
    ``packetsLost``, ``jitter``, ``fractionLost``, and ``roundTripTime`` once a report answers one of its sender
    reports; remote-outbound-rtp; and the connection's transport byte counts. It reports jitter in RTP timestamp
    units and ``fractionLost`` in 256ths, which are turned into seconds and a ratio here; jitter needs the codec's
    clock rate, which aiortc's statistics lack, so it is read from the ``connection``'s (the
    ``RTCPeerConnection``'s) answer, and jitter is left out without it. aiortc has no concealment
    (``concealedSamples``, ``totalSamplesReceived``), no jitter buffer figures, no inbound ``bytesReceived`` and
    no codec or candidate-pair statistics.
    """
    codec = _answer_codec(connection) if connection is not None else None
    out: list[Stats] = []
    codec_id = None
    if codec is not None:
        codec_id = "codec-audio"
        out.append({"type": "codec", "id": codec_id, "mimeType": codec[0], "clockRate": codec[1]})
    for stats in report.values():
        entry = {k: v for k, v in vars(stats).items() if v is not None}
        entry["timestamp"] = _milliseconds(entry.get("timestamp"))
        kind = entry.get("type")
        if kind in ("inbound-rtp", "remote-inbound-rtp"):
            jitter = entry.pop("jitter", None)
            if codec is not None and entry.get("kind") == "audio" and _number(jitter) is not None:
                entry["jitter"] = jitter / codec[1]
            if kind == "remote-inbound-rtp" and _number(entry.get("fractionLost")) is not None:
                entry["fractionLost"] = entry["fractionLost"] / 256.0
        if codec_id and kind in ("inbound-rtp", "outbound-rtp", "remote-inbound-rtp") and entry.get("kind") == "audio":
            entry["codecId"] = codec_id
        out.append(entry)
    return out


# --- LiveKit --------------------------------------------------------------------------------------------------


@functools.cache
def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)


_enum_prefixes: dict[str, int] = {}


def _enum_value(enum_type: EnumDescriptor, number: int) -> str:
    """A protobuf enum value as W3C spells it: DTLS_TRANSPORT_FAILED -> "failed", PAIR_IN_PROGRESS -> "in-progress"."""
    cut = _enum_prefixes.get(enum_type.full_name)
    if cut is None:
        common = os.path.commonprefix([value.name for value in enum_type.values])
        cut = _enum_prefixes[enum_type.full_name] = common.rfind("_") + 1
    value = enum_type.values_by_number.get(number)
    return value.name[cut:].lower().replace("_", "-") if value is not None else str(number)


def _livekit_entry(stats: Message, prefix: str) -> Stats | None:
    which = stats.WhichOneof("stats")
    if which is None:
        return None
    body = getattr(stats, which)
    entry: Stats = {"type": which.replace("_", "-")}
    for part, value in body.ListFields():
        if part.name == "rtc":
            entry["id"] = f"{prefix}{value.id}"
            entry["timestamp"] = float(value.timestamp)
            continue
        for field, item in value.ListFields():
            if field.message_type is not None:  # scalars only: maps and nested messages are not read
                continue
            key = _camel(field.name)
            if field.enum_type is not None:
                item = _enum_value(field.enum_type, item)
            elif key.endswith("Id") and isinstance(item, str):
                item = f"{prefix}{item}"
            entry[key] = item
    return entry


class RoomStats(Protocol):
    """What ``livekit.rtc.Room.get_rtc_stats()`` returns: the statistics of the room's two peer connections."""

    @property
    def publisher_stats(self) -> Sequence[Message]: ...

    @property
    def subscriber_stats(self) -> Sequence[Message]: ...


def from_livekit(rtc_stats: RoomStats) -> list[Stats]:
    """What ``livekit.rtc.Room.get_rtc_stats()`` returns as W3C dictionaries.

    LiveKit's statistics come from libwebrtc with the W3C units already. The room has two peer connections to
    the LiveKit server: the publisher's carries the agent's audio out (its remote-inbound-rtp gives loss and RTT
    to the server), the subscriber's the caller's audio in (inbound-rtp: loss, jitter, concealment). Their ids
    are prefixed with "pub:" and "sub:" so that the two connections' streams stay apart. What they measure ends
    at the LiveKit server: the caller's own leg to it is not in the agent's statistics.
    """
    out: list[Stats] = []
    for prefix, items in (("pub:", rtc_stats.publisher_stats), ("sub:", rtc_stats.subscriber_stats)):
        for stats in items:
            entry = _livekit_entry(stats, prefix)
            if entry is not None:
                out.append(entry)
    return out
