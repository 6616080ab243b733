"""The stream's fan-out on a real event loop: a subscriber that falls behind is dropped and counted, the others
get every batch of their own tenant."""

from __future__ import annotations

import asyncio

from voice_monitoring.api.stream import Stream, call_updates, live_calls


def test_a_subscriber_that_falls_behind_is_dropped_and_the_others_get_every_batch():
    async def scenario():
        stream = Stream(lambda expr: [], interval=1.0, max_subscribers=3, queue_size=2)
        slow = stream.subscribe("acme")
        fast = stream.subscribe(None)
        other = stream.subscribe("globex")
        assert stream.subscribe("acme") is None  # the fourth is refused
        received = []
        for n in range(6):
            stream.publish([{"type": "fleet", "tenant": "acme", "n": n}, {"type": "fleet", "tenant": "globex", "n": n}])
            received.append(await asyncio.wait_for(fast.queue.get(), 1))
            assert [u["tenant"] for u in await asyncio.wait_for(other.queue.get(), 1)] == ["globex"]
        return stream, slow, received

    stream, slow, received = asyncio.run(scenario())
    assert [batch[0]["n"] for batch in received] == list(range(6))
    assert stream.dropped == 1
    assert slow not in stream.subscribers
    assert slow.queue.get_nowait() is None  # its writer is told to close, nothing else is left for it


def test_call_updates_between_two_polls():
    def samples(started, ended=(), scores=()):
        label = {"tenant": "acme", "provider": "deepgram"}
        return {
            "started": [({**label, "call_id": c}, 1.0) for c in started],
            "ended": [({**label, "call_id": c}, 1.0) for c in ended],
            "score": [({**label, "call_id": c}, s) for c, s in scores],
        }

    before = live_calls(samples(["a", "b"], scores=[("a", 80.0)]))
    after = live_calls(samples(["a", "b", "c"], ended=["b"], scores=[("a", 72.5)]))
    updates = {(u["type"], u["call_id"]) for u in call_updates(before, after, at=0.0)}
    assert updates == {("call.started", "c"), ("call.ended", "b"), ("call.scored", "a")}
    assert call_updates(after, after, at=0.0) == []


def test_the_stream_queries_nothing_while_nobody_listens():
    asked = []

    def query(expr):
        asked.append(expr)
        return []

    async def scenario():
        stream = Stream(query, interval=0.05, max_subscribers=2, queue_size=2)
        poller = asyncio.ensure_future(stream.run())
        await asyncio.sleep(0.3)
        idle = len(asked)
        subscriber = stream.subscribe(None)
        await asyncio.sleep(0.3)
        stream.unsubscribe(subscriber)
        poller.cancel()
        return idle

    assert asyncio.run(scenario()) == 0
    assert asked
