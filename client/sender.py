"""EventClient: a bounded queue in the agent's process, emptied by a background thread into ``POST /v1/events``.

The caller only appends to the queue (a few microseconds, never I/O); the thread posts NDJSON batches by size
and by time, retries with backoff and jitter, and drops the oldest events when the queue is full. Every event
carries an ``id``, so a batch retried after a lost answer is counted once by the exporter. Nothing here raises
into the caller: problems are counted in ``stats()`` and logged at most once per ``log_interval``.
"""

from __future__ import annotations

import asyncio
import atexit
import http.client
import itertools
import json
import logging
import math
import os
import random
import secrets
import threading
import time
import weakref
from collections import deque
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("voice_monitoring.client")

URL_ENV = "VOICE_MONITORING_URL"
TOKEN_ENV = "VOICE_MONITORING_TOKEN"
EXIT_TIMEOUT_ENV = "VOICE_MONITORING_EXIT_TIMEOUT"
# At the process's exit, queued events get this long to leave: an unreachable exporter must not hold the agent.
DEFAULT_EXIT_TIMEOUT = 1.0
DEFAULT_URL = "http://127.0.0.1:9470"
EVENTS_PATH = "/v1/events"
# The exporter refuses events more than an hour old; older ones are dropped here instead of being sent.
MAX_EVENT_AGE_SECONDS = 3540.0
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
DROP_REASONS = ("queue_full", "expired", "unserialisable", "refused", "closed", "unsent_at_close")

_live_clients: weakref.WeakSet[EventClient] = weakref.WeakSet()


@atexit.register
def _close_live_clients() -> None:
    """Send what the clients hold, all at once, for at most the longest of their ``exit_timeout``s."""
    clients = list(_live_clients)
    if not clients:
        return
    deadline = time.monotonic() + max(client.exit_timeout for client in clients)
    for client in clients:
        client._begin_close(client.exit_timeout)
    for client in clients:
        # the sending thread is a daemon: one stuck in a request past the deadline ends with the process
        client._thread.join(max(0.0, deadline - time.monotonic()))


def seconds_from_environment(name: str, default: float, low: float = -math.inf, high: float = math.inf) -> float:
    """Seconds from the environment variable ``name``: ``default`` when it is unset, blank, not a number or
    outside ``low`` to ``high`` (those two are logged)."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not low <= value <= high:
        log.warning("%s=%r is not a number of seconds (%g to %g); using %g", name, raw, low, high, default)
        return default
    return value


def exit_timeout_from_environment() -> float:
    return seconds_from_environment(EXIT_TIMEOUT_ENV, DEFAULT_EXIT_TIMEOUT, 0.0, 3600.0)


class EventClient:
    """Queue events for the exporter; a daemon thread sends them.

    ``url`` and ``token`` default to ``$VOICE_MONITORING_URL`` (else ``http://127.0.0.1:9470``) and
    ``$VOICE_MONITORING_TOKEN``. ``labels`` (``tenant``, ``provider``, ``pipeline``, ...) go on every event
    unless the event names its own. ``exit_timeout`` (default ``$VOICE_MONITORING_EXIT_TIMEOUT``, else 1 s) bounds
    how long the process's exit waits for queued events when the client was not closed.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        labels: Mapping[str, str | None] | None = None,
        max_queue: int = 10_000,
        batch_size: int = 100,
        flush_interval: float = 0.25,
        timeout: float = 2.0,
        backoff: float = 0.25,
        max_backoff: float = 10.0,
        log_interval: float = 10.0,
        exit_timeout: float | None = None,
    ):
        url = url or os.environ.get(URL_ENV) or DEFAULT_URL
        parts = urlsplit(url if "://" in url else f"http://{url}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the exporter URL must be http(s)://host[:port], not {url!r}")
        path = parts.path.rstrip("/")
        self.url = f"{parts.scheme}://{parts.netloc}{path if path.endswith(EVENTS_PATH) else path + EVENTS_PATH}"
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._path = path if path.endswith(EVENTS_PATH) else path + EVENTS_PATH
        token = token if token is not None else os.environ.get(TOKEN_ENV)
        if token and not token.isprintable():
            raise ValueError("the exporter token must be printable text")
        self._headers = {"Content-Type": "application/x-ndjson"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._labels = {k: v for k, v in (labels or {}).items() if v is not None}
        if max_queue < 1 or batch_size < 1:
            raise ValueError("max_queue and batch_size must be at least 1")
        self._max_queue, self._batch_size = max_queue, batch_size
        # A backlog (after an outage, or a burst) goes in larger requests, well under the exporter's limits.
        self._max_batch = min(10 * batch_size, 5000)
        self._flush_interval, self._timeout = flush_interval, timeout
        self._backoff, self._max_backoff, self._log_interval = backoff, max_backoff, log_interval
        if exit_timeout is not None and not 0 <= exit_timeout <= 3600:
            raise ValueError("exit_timeout must be 0 to 3600 seconds")
        self.exit_timeout = exit_timeout_from_environment() if exit_timeout is None else exit_timeout

        self._queue: deque[dict[str, Any]] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._close_deadline = 0.0
        self._inflight = 0
        self._prefix = secrets.token_hex(6) + "-"
        self._ids = itertools.count()
        self._closed = False
        self._enqueued = 0
        self._counts = dict.fromkeys(("sent", "duplicates", "rejected", "retries", "batches"), 0)
        self._dropped = dict.fromkeys(DROP_REASONS, 0)
        self._logged_drops = 0
        self._last_log: dict[str, float] = {}
        self._connection: http.client.HTTPConnection | None = None
        self._thread = threading.Thread(target=self._run, name="voice-monitoring-client", daemon=True)
        _live_clients.add(self)
        self._thread.start()

    # --- the caller's side: never blocks, never raises ----------------------------------------------------

    def send(
        self,
        type: str,
        call_id: str | None = None,
        attrs: dict[str, Any] | None = None,
        ts: float | None = None,
        **envelope: str | None,
    ) -> None:
        """Queue one event; ``envelope`` holds tenant, provider, pipeline, model, component (None is left out)."""
        try:
            # the id and the client's labels are added by the sending thread, off the caller's path
            event: dict[str, Any] = {"type": type, "ts": time.time() if ts is None else ts}
            if call_id is not None:
                event["call_id"] = call_id
            if envelope:
                for key, value in envelope.items():
                    if value is not None:
                        event[key] = value
            if attrs:
                event["attrs"] = attrs
            with self._lock:
                if self._closed:
                    self._dropped["closed"] += 1
                    return
                queue = self._queue
                if len(queue) >= self._max_queue:
                    queue.popleft()
                    self._dropped["queue_full"] += 1
                queue.append(event)
                self._enqueued += 1
                waiting = len(queue)
            if waiting == self._batch_size:
                self._wake.set()
        except Exception:  # a monitoring bug must never reach the agent
            log.debug("queueing a %s event failed", type, exc_info=True)

    def stats(self) -> dict[str, Any]:
        """Counters since start: enqueued, sent, duplicates, rejected, retries, batches, queued, dropped{reason}."""
        with self._lock:
            return {
                **self._counts,
                "enqueued": self._enqueued,
                "queued": len(self._queue),
                "dropped": dict(self._dropped),
            }

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued event has been sent or given up on; False when ``timeout`` ran out first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._queue and not self._inflight:
                    return True
            self._wake.set()
            time.sleep(0.01)
        return False

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued (for at most ``timeout`` seconds), then stop; later events are dropped and counted."""
        if not self._begin_close(timeout):
            return
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout + self._timeout + 1.0)
        _live_clients.discard(self)

    def _begin_close(self, timeout: float) -> bool:
        """Tell the sending thread to send what is queued for at most ``timeout`` seconds and stop; False if closed."""
        with self._lock:
            if self._closed:
                return False
            self._closed = True
            self._close_deadline = time.monotonic() + timeout
            self._closing.set()
        self._wake.set()
        return True

    async def aclose(self, timeout: float = 5.0) -> None:
        """``close`` without blocking the event loop."""
        await asyncio.get_running_loop().run_in_executor(None, self.close, timeout)

    def __enter__(self) -> EventClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the sending thread -------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                self._send_until_closed()
                return
            except Exception as exc:  # a bug here must not stop the sending for good
                self._warn("bug", f"the event client's sending thread failed and restarts: {exc!r}")
                with self._lock:
                    self._inflight = 0
                time.sleep(self._flush_interval)

    def _send_until_closed(self) -> None:
        failures = 0
        while True:
            closing = self._closing.is_set()
            if failures:
                pause = min(self._max_backoff, self._backoff * 2 ** (failures - 1)) * random.uniform(0.5, 1.0)
                if closing:
                    time.sleep(max(0.0, min(pause, self._close_deadline - time.monotonic())))
                else:
                    self._closing.wait(pause)
            elif not closing and len(self._queue) < self._batch_size:
                self._wake.wait(self._flush_interval)
                self._wake.clear()
            batch = self._take()
            if batch:
                if self._post(batch):
                    failures = 0
                else:
                    failures += 1
                    self._put_back(batch)
            self._log_drops()
            if self._closing.is_set():
                with self._lock:
                    empty = not self._queue
                    if not empty and time.monotonic() >= self._close_deadline:
                        self._dropped["unsent_at_close"] += len(self._queue)
                        self._queue.clear()
                        empty = True
                if empty:
                    self._log_drops(force=True)
                    self._disconnect()
                    return

    def _take(self) -> list[dict[str, Any]]:
        oldest = time.time() - MAX_EVENT_AGE_SECONDS
        with self._lock:
            queue = self._queue
            batch: list[dict[str, Any]] = []
            while queue and len(batch) < self._max_batch:
                event = queue.popleft()
                ts = event["ts"]
                if type(ts) not in (int, float):
                    self._dropped["unserialisable"] += 1
                elif ts < oldest:
                    self._dropped["expired"] += 1
                else:
                    batch.append(event)
            self._inflight = len(batch)
        labels, prefix, ids = self._labels, self._prefix, self._ids
        for event in batch:
            if "id" not in event:  # first attempt: a retried event keeps its id
                event["id"] = f"{prefix}{next(ids)}"
                for key, value in labels.items():
                    event.setdefault(key, value)
        return batch

    def _put_back(self, batch: list[dict[str, Any]]) -> None:
        """Return a batch that could not be sent to the head of the queue, dropping the oldest beyond the bound."""
        with self._lock:
            queue = self._queue
            queue.extendleft(reversed(batch))
            excess = len(queue) - self._max_queue
            for _ in range(max(0, excess)):
                queue.popleft()
            if excess > 0:
                self._dropped["queue_full"] += excess
            self._inflight = 0
            self._counts["retries"] += 1

    def _post(self, batch: list[dict[str, Any]]) -> bool:
        """Send one batch; True when it is settled (sent or refused for good), False to retry it later."""
        lines = []
        for event in batch:
            try:
                lines.append(json.dumps(event, separators=(",", ":"), allow_nan=False).encode())
            except (TypeError, ValueError) as exc:
                self._count_drop("unserialisable", 1)
                self._warn("unserialisable", f"dropped a {event.get('type')} event that is not JSON: {exc}")
        if not lines:
            return self._settled(0, 0)
        try:
            connection = self._connect()
            connection.request("POST", self._path, b"\n".join(lines), self._headers)
            response = connection.getresponse()
            body = response.read()
            if response.will_close:
                self._disconnect()
        except (OSError, http.client.HTTPException) as exc:
            self._disconnect()
            self._warn("unreachable", f"exporter {self.url} unreachable, will retry: {exc!r}")
            return False
        status = response.status
        if status == 200 or (status == 400 and b'"rejected"' in body):
            answer = _json_or_empty(body)
            rejected = answer.get("rejected") or []
            for item in rejected[:3]:
                self._warn("rejected", f"the exporter refused an event: {item.get('error')}")
            with self._lock:
                self._counts["rejected"] += len(rejected)
            return self._settled(answer.get("accepted", len(lines) - len(rejected)), answer.get("duplicates", 0))
        if status in RETRY_STATUSES:
            self._warn("unavailable", f"exporter {self.url} answered {status}, will retry")
            return False
        self._count_drop("refused", len(lines))
        self._warn("refused", f"exporter {self.url} refused a batch with {status}: {body[:200]!r}")
        return self._settled(0, 0)

    def _settled(self, sent: int, duplicates: int) -> bool:
        with self._lock:
            self._counts["sent"] += sent
            self._counts["duplicates"] += duplicates
            self._counts["batches"] += 1
            self._inflight = 0
        return True

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._connection = kind(self._host, self._port, timeout=self._timeout)
        return self._connection

    def _disconnect(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _count_drop(self, reason: str, count: int) -> None:
        with self._lock:
            self._dropped[reason] += count

    def _log_drops(self, force: bool = False) -> None:
        with self._lock:
            total = sum(self._dropped.values())
            new = total - self._logged_drops
            if not new:
                return
            dropped = {k: v for k, v in self._dropped.items() if v}
        if self._warn("dropped", f"dropped {new} events since the last report (totals: {dropped})", force):
            self._logged_drops = total

    def _warn(self, key: str, message: str, force: bool = False) -> bool:
        """Log ``message`` unless a message of the same ``key`` was logged less than ``log_interval`` ago."""
        now = time.monotonic()
        if not force and now - self._last_log.get(key, -self._log_interval) < self._log_interval:
            return False
        self._last_log[key] = now
        log.warning(message)
        return True


def _json_or_empty(body: bytes) -> dict[str, Any]:
    try:
        answer = json.loads(body)
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}
