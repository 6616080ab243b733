"""A request body into events: one JSON event, a JSON array of events, or NDJSON, one event per line.

Limits apply before a body becomes objects.  A JSON body is parsed only once a count of its separators and
brackets (done in C, no objects made) shows it holds at most ``VALUES_PER_EVENT`` JSON values per allowed
event; NDJSON lines are parsed one at a time and counted as they go.  So a 5 MB body of ``{}`` is refused
before it turns into a million dictionaries.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import orjson

from voice_monitoring.exporter.events import Unparsable, decode_checked

JSON_TYPES = {"application/json"}
NDJSON_TYPES = {"application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines"}
# Generous for real events (the simulator's mix averages under 10); bounds the objects one request can make.
VALUES_PER_EVENT = 32
_LINE = re.compile(rb"\S[^\n]*")


class BadRequest(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class ParsedBody(NamedTuple):
    events: list[Any]
    lines: list[int] | None  # NDJSON: the line number (from 0, blank lines counted) of each event
    fields_checked: bool  # every event (JSON) or line (NDJSON) passed ``decode_checked``: see ``events.validate``


def _too_many(max_events: int) -> BadRequest:
    return BadRequest(413, f"a request carries at most {max_events} events")


def _values_bound(body: bytes) -> int:
    """An upper bound of the JSON values in ``body``: every value but a container's first follows a comma."""
    return body.count(b",") + body.count(b"[") + body.count(b"{") + 1


def parse_body(body: bytes, content_type: str, max_events: int) -> ParsedBody:
    """The events of a request body, for NDJSON with the line number of each, for JSON with whether the fields of
    every event are known valid.

    An NDJSON line that does not parse is an ``Unparsable`` item among the events, so the one place that
    rejects events rejects it; a JSON body that does not parse is refused whole (BadRequest 400).
    """
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in JSON_TYPES and media not in NDJSON_TYPES:
        raise BadRequest(415, "Content-Type must be application/json or application/x-ndjson")
    most_values = VALUES_PER_EVENT * max_events
    if len(body) >= most_values and _values_bound(body) > most_values:  # each value counted is a byte of the body
        raise BadRequest(
            413, f"a request carries at most {max_events} events (and {VALUES_PER_EVENT} JSON values per event)"
        )
    if media in JSON_TYPES:
        checked = decode_checked(body, is_array=body.lstrip()[:1] == b"[")
        if checked is None:  # parsed again, to be checked event by event
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise BadRequest(400, f"malformed JSON: {exc}") from None
        events: list[Any] = checked if checked is not None else data if isinstance(data, list) else [data]
        if len(events) > max_events:
            raise _too_many(max_events)
        return ParsedBody(events, None, checked is not None)
    events, lines = [], []
    line, scanned = 0, 0
    every_line_checked = True
    for match in _LINE.finditer(body):
        if len(events) == max_events:
            raise _too_many(max_events)
        start = match.start()
        line += body.count(b"\n", scanned, start)
        scanned = start
        text = match.group()
        checked_line = decode_checked(text, is_array=False)
        if checked_line is not None:
            events.append(checked_line[0])
        else:  # parsed again, and the whole body checked event by event
            every_line_checked = False
            try:
                events.append(orjson.loads(text))
            except orjson.JSONDecodeError as exc:
                events.append(Unparsable(f"malformed JSON: {exc}"))
        lines.append(line)
    return ParsedBody(events, lines, every_line_checked and bool(events))
