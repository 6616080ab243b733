"""The live stream: one poller reads PromQL at a fixed interval and fans its updates out to subscribers.

The poller queries for every tenant once per interval, whatever the number of subscribers; each subscriber
gets only the updates of its token's tenant (an admin's, all), one batch (a JSON array) per poll.  A
subscriber has a bounded queue of batches: one whose queue is full when a poll's batch arrives (it has fallen
``queue_size`` polls behind) is dropped and counted, and so is one whose connection takes longer than the send
timeout to take a batch; neither holds back the others.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from voice_monitoring.api import queries
from voice_monitoring.scorer.promql import QueryError, Sample

log = logging.getLogger("voice-api.stream")

# A call as the poller last saw it: (tenant, provider, ended, score)
CallState = tuple[str, str, bool, float | None]
# One update as the stream sends it: a JSON object.
Update = dict[str, Any]


def call_updates(before: dict[str, CallState], after: dict[str, CallState], at: float) -> list[Update]:
    """call.started, call.ended and call.scored updates between two snapshots of the live calls."""
    updates: list[Update] = []
    for call_id, (tenant, provider, ended, score) in after.items():
        old = before.get(call_id)
        base = {"call_id": call_id, "tenant": tenant, "provider": provider, "time": at}
        if old is None:
            updates.append({"type": "call.started", **base})
        if ended and (old is None or not old[2]):
            updates.append({"type": "call.ended", **base})
        if score is not None and (old is None or old[3] != score):
            updates.append({"type": "call.scored", **base, "score": score})
    return updates


def live_calls(samples: dict[str, list[Sample]]) -> dict[str, CallState]:
    calls: dict[str, CallState] = {}
    for labels, _ in samples["started"]:
        if "call_id" in labels:
            calls[labels["call_id"]] = (labels.get("tenant", ""), labels.get("provider", ""), False, None)
    for labels, value in samples["ended"]:
        call_id = labels.get("call_id")
        if call_id in calls and value >= 1:
            tenant, provider, _, score = calls[call_id]
            calls[call_id] = (tenant, provider, True, score)
    for labels, value in samples["score"]:
        call_id = labels.get("call_id")
        if call_id in calls:
            tenant, provider, ended, _ = calls[call_id]
            calls[call_id] = (tenant, provider, ended, value)
    return calls


@dataclass(eq=False)
class Subscriber:
    tenant: str | None  # None: every tenant
    # batches of updates; None tells the writer to close
    queue: asyncio.Queue[list[Update] | None] = field(default_factory=asyncio.Queue)

    def wants(self, update: Update) -> bool:
        return self.tenant is None or update.get("tenant") == self.tenant


class Stream:
    def __init__(
        self,
        query: Callable[[str], list[Sample]],
        interval: float,
        max_subscribers: int,
        queue_size: int,
        executor: Executor | None = None,
    ):
        self._query = query
        self.interval = interval
        self.max_subscribers = max_subscribers
        self.queue_size = queue_size
        self._executor = executor
        self.subscribers: set[Subscriber] = set()
        self.dropped = 0
        self._calls: dict[str, CallState] | None = None

    def subscribe(self, tenant: str | None) -> Subscriber | None:
        """A new subscriber, or None when the stream already serves ``max_subscribers``."""
        if len(self.subscribers) >= self.max_subscribers:
            return None
        subscriber = Subscriber(tenant, asyncio.Queue(self.queue_size))
        self.subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)

    @staticmethod
    def _close(subscriber: Subscriber) -> None:
        """Empty the subscriber's queue and leave its writer the signal to close (None)."""
        while not subscriber.queue.empty():
            subscriber.queue.get_nowait()
        subscriber.queue.put_nowait(None)

    def drop(self, subscriber: Subscriber) -> None:
        """Drop a subscriber too slow to keep up, and count it (once)."""
        if subscriber in self.subscribers:
            self.dropped += 1
            self.unsubscribe(subscriber)
            self._close(subscriber)

    def close_all(self) -> None:
        for subscriber in list(self.subscribers):
            self.unsubscribe(subscriber)
            self._close(subscriber)

    def publish(self, updates: list[Update]) -> None:
        """One poll's updates to every subscriber, as one batch each (only those of its tenant)."""
        for subscriber in list(self.subscribers):
            batch = [update for update in updates if subscriber.wants(update)]
            if not batch:
                continue
            try:
                subscriber.queue.put_nowait(batch)
            except asyncio.QueueFull:
                self.drop(subscriber)

    def poll_once(self) -> list[Update]:
        """One round of queries (blocking I/O: run it off the loop); the updates it yields."""
        at = time.time()
        snapshot = live_calls({name: self._query(metric) for name, metric in queries.LIVE_CALLS.items()})
        updates = [] if self._calls is None else call_updates(self._calls, snapshot, at)
        self._calls = snapshot
        fleet: dict[str, Update] = {}
        for figure, expr in queries.FLEET.items():
            for labels, value in self._query(expr):
                tenant = labels.get("tenant", "")
                fleet.setdefault(tenant, {"type": "fleet", "tenant": tenant, "time": at})[figure] = value
        return updates + list(fleet.values())

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            if not self.subscribers:  # nobody listens: no queries; the next subscriber's first poll is a baseline
                self._calls = None
                await asyncio.sleep(self.interval)
                continue
            try:
                self.publish(await loop.run_in_executor(self._executor, self.poll_once))
            except QueryError as exc:
                log.warning("stream poll failed: %s", exc)
            except Exception:
                log.exception("stream poll failed")
            await asyncio.sleep(max(self.interval - (loop.time() - started), 0.05))
