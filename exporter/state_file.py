"""The exporter's state across a restart: live calls, the expiry of ended ones and remembered event ids,
written to a SQLite file every few seconds and on shutdown, and read back on start.

Fleet counters are not kept: they start again from zero, as Prometheus counters may, and the new
``process_start_time_seconds`` tells Prometheus so.  The file is removed once read and written again by the
next checkpoint, so a later crash brings back only what was live at that checkpoint: ``kill -9`` loses the events
since the last one, at most one checkpoint interval.
"""

from __future__ import annotations

import logging
import operator
import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from voice_monitoring.exporter.calls import Call
from voice_monitoring.exporter.core import Exporter
from voice_monitoring.exporter.registry import GRACE

log = logging.getLogger("voice-exporter")

FORMAT = 3
READABLE_FORMATS = (2, 3)  # 2 kept no reason for a removed call: every one was removed after its grace period
FORMER_FIELD_NAMES = {"reported_turn_p95": "reported_turn_response_p95"}  # a call's fields as format 2 named them
_CALL_FIELDS = tuple(name for name in Call.__slots__ if name not in ("call_id", "_labels", "usage"))
_read_call_fields = operator.attrgetter(*_CALL_FIELDS)
_TABLES = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value)",
    "CREATE TABLE calls (call_id TEXT PRIMARY KEY, fields BLOB NOT NULL)",
    "CREATE TABLE ended (remove_at REAL NOT NULL, call_id TEXT NOT NULL)",
    "CREATE TABLE removed (seq INTEGER PRIMARY KEY, forget_at REAL NOT NULL, call_id TEXT NOT NULL, reason TEXT)",
    "CREATE TABLE event_ids (seq INTEGER PRIMARY KEY, forget_at REAL NOT NULL, id TEXT NOT NULL)",
)


_writing = threading.Lock()


class StateFileError(RuntimeError):
    pass


def _call_fields(call: Call) -> bytes:
    fields = dict(zip(_CALL_FIELDS, _read_call_fields(call), strict=True))
    fields["usage"] = [[service, provider, usd, events] for (service, provider), (usd, events) in call.usage.items()]
    return orjson.dumps(fields)


def _call_from(call_id: str, blob: bytes) -> Call:
    fields = orjson.loads(blob)
    for former, name in FORMER_FIELD_NAMES.items():
        if former in fields:
            fields[name] = fields.pop(former)
    call = Call(call_id, fields["tenant"], fields["provider"], fields["pipeline"], fields["last_seen"])
    for name in _CALL_FIELDS:
        if name in fields:
            setattr(call, name, fields[name])
    call.usage = {(service, provider): [usd, events] for service, provider, usd, events in fields.get("usage", ())}
    return call


def _numbered(entries: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """(seq, forget at, id, value...) of ``ExpiringIds`` entries, so they are read back in the order remembered."""
    return [(seq, *entry) for seq, entry in enumerate(entries)]


def save(exporter: Exporter, path: str | Path) -> int:
    """Write the exporter's state to ``path`` (replaced atomically); returns how many calls were written."""
    path = Path(path)
    with _writing:
        return _save(exporter, path)


def _save(exporter: Exporter, path: Path) -> int:
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    with exporter.lock:
        registry = exporter.registry
        calls = [(call_id, _call_fields(call)) for call_id, call in registry.calls.items()]
        ended = registry.ending()
        removed = _numbered(registry.removed.entries())
        ids = _numbered([(until, event_id) for until, event_id, _ in exporter.ids])
        saved_at = exporter.clock()
    db = sqlite3.connect(partial)
    try:
        with db:
            for statement in _TABLES:
                db.execute(statement)
            db.executemany("INSERT INTO meta VALUES (?, ?)", [("format", FORMAT), ("saved_at", saved_at)])
            db.executemany("INSERT INTO calls VALUES (?, ?)", calls)
            db.executemany("INSERT INTO ended VALUES (?, ?)", ended)
            db.executemany("INSERT INTO removed VALUES (?, ?, ?, ?)", removed)
            db.executemany("INSERT INTO event_ids VALUES (?, ?, ?)", ids)
    finally:
        db.close()
    os.replace(partial, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return len(calls)


def restore(exporter: Exporter, path: str | Path) -> int:
    """Read the state saved in ``path`` into a fresh exporter and remove the file; returns how many calls
    were restored (0 when there is no file)."""
    path = Path(path)
    if not path.exists():
        return 0
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            meta = dict(db.execute("SELECT key, value FROM meta"))
            if meta.get("format") not in READABLE_FORMATS:
                raise StateFileError(f"{path}: state format {meta.get('format')!r}, expected one of {READABLE_FORMATS}")
            calls = [_call_from(call_id, blob) for call_id, blob in db.execute("SELECT call_id, fields FROM calls")]
            ended = list(db.execute("SELECT remove_at, call_id FROM ended"))
            if meta["format"] == 2:
                rows = db.execute("SELECT forget_at, call_id FROM removed ORDER BY seq")
                removed = [(until, call_id, GRACE) for until, call_id in rows]
            else:
                removed = list(db.execute("SELECT forget_at, call_id, reason FROM removed ORDER BY seq"))
            ids = [
                (until, event_id, None)
                for until, event_id in db.execute("SELECT forget_at, id FROM event_ids ORDER BY seq")
            ]
        finally:
            db.close()
    except (sqlite3.Error, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise StateFileError(f"{path}: cannot read the saved state: {exc}") from exc
    with exporter.lock:
        now = exporter.clock()
        try:
            exporter.registry.restore(calls, ended, removed, now)
        except ValueError as exc:
            raise StateFileError(str(exc)) from None
        exporter.ids.restore(ids, now)
    path.unlink()
    log.info("restored %d calls and %d event ids from %s", len(calls), len(exporter.ids), path)
    return len(calls)
