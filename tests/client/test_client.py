"""The event client against a real exporter: batching, ids, retries, drop-oldest, shutdown, configuration."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from tests.client.exporter_metrics import exporter_value
from tests.harness import BIN, free_port, local_service, read_http_message, start_exporter, wait_for
from voice_monitoring.client import EventClient

ACCEPTED = "ai_agent_exporter_events_accepted_total"
DUPLICATES = "ai_agent_exporter_events_duplicate_total"
TURNS = "ai_agent_turns_total"
TURN_SUM = "ai_agent_turn_response_seconds_sum"


def exporter_on(tmp_path, port: int, env: dict | None = None):
    argv = [str(BIN / "voice-exporter"), "--listen-address", "127.0.0.1", "--port", str(port)]
    return local_service("exporter", argv, port, "/ready", tmp_path, env)


def play_call(client: EventClient, call_id: str, latencies: list[float]) -> int:
    """A call of one turn per latency; returns the number of events sent."""
    client.send("call.started", call_id, {"transport": "webrtc"})
    for latency in latencies:
        client.send("turn", call_id, {"latency_seconds": latency})
    client.send("call.ended", call_id, {"duration_seconds": 12.0, "reason": "user hung up"})
    return len(latencies) + 2


def test_importing_the_client_loads_none_of_the_exporters_dependencies():
    heavy = ("orjson", "prometheus_client", "yaml", "requests", "aiohttp", "uvicorn", "voice_monitoring.exporter")
    code = f"import sys, voice_monitoring.client; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_every_event_is_counted_once_with_the_envelope_labels_and_an_id(exporter):
    with EventClient(exporter.url, labels={"tenant": "acme", "provider": "deepgram", "pipeline": "cascade"}) as c:
        sent = play_call(c, "c-1", [0.5, 0.7, 0.9])
        assert c.flush(10)
        stats = c.stats()
    assert stats["sent"] == sent == stats["enqueued"]
    assert sum(stats["dropped"].values()) == 0
    assert exporter_value(exporter.url, TURNS, pipeline="cascade", provider="deepgram") == 3
    assert exporter_value(exporter.url, TURN_SUM, pipeline="cascade", provider="deepgram") == pytest.approx(2.1)
    assert exporter_value(exporter.url, "ai_agent_calls_started_total", tenant="acme") == 1


def test_batches_go_by_size_before_the_timer_and_by_time_below_the_size(exporter):
    with EventClient(exporter.url, batch_size=50, flush_interval=30) as c:
        for i in range(100):
            c.send("turn", f"size-{i}", {"latency_seconds": 0.4})
        wait_for(lambda: c.stats()["sent"] == 100, 5, what="full batches sent without waiting for the timer")
        assert c.stats()["batches"] <= 2  # a backlog may go as one larger request
    with EventClient(exporter.url, batch_size=1000, flush_interval=0.1) as c:
        c.send("turn", "time-1", {"latency_seconds": 0.4})
        wait_for(lambda: c.stats()["sent"] == 1, 5, what="a lone event sent by the timer")


def test_events_queued_while_the_exporter_is_down_arrive_once_when_it_comes_up(tmp_path):
    port = free_port()
    client = EventClient(f"http://127.0.0.1:{port}", max_queue=1000, backoff=0.05, max_backoff=0.2)
    try:
        latencies = [0.1 * (1 + i % 20) for i in range(300)]
        sent = sum(play_call(client, f"down-{i}", latencies[i * 30 : i * 30 + 30]) for i in range(10))
        wait_for(lambda: client.stats()["retries"] >= 3, 10, what="the client retrying a dead exporter")
        with exporter_on(tmp_path, port) as exporter:
            assert client.flush(20)
            stats = client.stats()
            assert stats["sent"] == sent and stats["duplicates"] == 0
            assert sum(stats["dropped"].values()) == 0
            assert exporter_value(exporter.url, ACCEPTED) == sent
            assert exporter_value(exporter.url, TURNS) == 300
            assert exporter_value(exporter.url, TURN_SUM) == pytest.approx(sum(latencies))
    finally:
        client.close(1)


def test_a_full_queue_drops_the_oldest_events_and_counts_them(tmp_path, caplog):
    port = free_port()
    caplog.set_level(logging.WARNING, "voice_monitoring.client")
    client = EventClient(f"http://127.0.0.1:{port}", max_queue=10, backoff=0.05, max_backoff=0.1)
    try:
        for i in range(25):
            client.send("turn", "full-1", {"latency_seconds": float(i + 1)})
        assert client.stats()["dropped"]["queue_full"] == 15
        with exporter_on(tmp_path, port) as exporter:
            assert client.flush(20)
            assert exporter_value(exporter.url, TURNS) == 10
            # the newest ten survive: latencies 16 to 25
            assert exporter_value(exporter.url, TURN_SUM) == sum(range(16, 26))
        wait_for(lambda: "dropped 15 events" in caplog.text, 5, what="the drops logged")
    finally:
        client.close(1)


class AnswerLosingProxy:
    """Forwards HTTP requests to ``upstream`` and, for the first ``lose`` requests, closes without answering."""

    def __init__(self, upstream_port: int, lose: int = 1):
        self.upstream_port, self.lose = upstream_port, lose
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.requests = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(conn,), daemon=True).start()

    def _relay(self, conn: socket.socket):
        with conn, socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5) as upstream:
            conn.settimeout(5)
            while True:
                request = read_http_message(conn)
                if request is None:
                    return
                self.requests += 1
                upstream.sendall(request)
                answer = read_http_message(upstream)
                if self.requests <= self.lose:
                    return  # the exporter applied the batch; the client never hears so
                conn.sendall(answer)

    def close(self):
        self.listener.close()


def test_a_batch_retried_after_a_lost_answer_is_counted_once(exporter):
    proxy = AnswerLosingProxy(exporter.port, lose=1)
    try:
        with EventClient(f"http://127.0.0.1:{proxy.port}", backoff=0.05) as c:
            sent = play_call(c, "lost-1", [0.4, 0.6])
            assert c.flush(10)
            stats = c.stats()
        assert proxy.requests == 2 and stats["retries"] == 1
        assert stats["duplicates"] == sent and stats["sent"] == 0
        assert exporter_value(exporter.url, ACCEPTED) == sent
        assert exporter_value(exporter.url, DUPLICATES) == sent
        assert exporter_value(exporter.url, TURNS) == 2
    finally:
        proxy.close()


def test_close_sends_what_is_queued(exporter):
    client = EventClient(exporter.url, flush_interval=60)
    sent = play_call(client, "close-1", [0.3])
    client.close()
    assert exporter_value(exporter.url, ACCEPTED) == sent
    client.send("turn", "close-1", {"latency_seconds": 0.3})
    assert client.stats()["dropped"]["closed"] == 1


def test_close_gives_up_on_a_dead_exporter_within_its_timeout():
    client = EventClient(f"http://127.0.0.1:{free_port()}", backoff=0.05)
    play_call(client, "dead-1", [0.3])
    started = time.monotonic()
    client.close(timeout=0.5)
    assert time.monotonic() - started < 4
    assert client.stats()["dropped"]["unsent_at_close"] == 3


def test_nothing_the_caller_sends_raises_and_refused_events_are_counted(exporter, caplog):
    caplog.set_level(logging.WARNING, "voice_monitoring.client")
    with EventClient(exporter.url) as c:
        c.send("turn", "bad-1", {"latency_seconds": object()})
        c.send("turn", "bad-1", {"latency_seconds": float("nan")})
        c.send("turn", "bad-1", {"latency_seconds": -1.0})
        c.send("no.such.type", "bad-1")
        c.send("turn", "bad-1", {"latency_seconds": 0.5}, ts="yesterday")
        c.send("turn", "bad-1", {"latency_seconds": 0.5})
        assert c.flush(10)
        stats = c.stats()
    assert stats["dropped"]["unserialisable"] == 3
    assert stats["rejected"] == 2 and stats["sent"] == 1
    assert "the exporter refused an event" in caplog.text
    assert exporter_value(exporter.url, TURNS) == 1


def test_url_and_token_come_from_the_environment(tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.WARNING, "voice_monitoring.client")
    with start_exporter(tmp_path, env={"EXPORTER_TOKEN": "s3cret"}) as exporter:
        monkeypatch.setenv("VOICE_MONITORING_URL", exporter.url)
        monkeypatch.setenv("VOICE_MONITORING_TOKEN", "s3cret")
        with EventClient() as c:
            assert c.url == f"{exporter.url}/v1/events"
            c.send("turn", "env-1", {"latency_seconds": 0.5})
            assert c.flush(10)
            assert c.stats()["sent"] == 1
        with EventClient(token="wrong") as c:
            c.send("turn", "env-1", {"latency_seconds": 0.5})
            assert c.flush(10)
            assert c.stats()["dropped"]["refused"] == 1
        assert "refused a batch with 401" in caplog.text
        assert exporter_value(exporter.url, TURNS) == 1


def test_the_client_works_from_an_asyncio_event_loop(exporter):
    async def agent():
        client = EventClient(exporter.url)
        for i in range(5):
            client.send("turn", "async-1", {"latency_seconds": 0.2 * (i + 1)})
            await asyncio.sleep(0)
        await client.aclose()
        return client.stats()

    stats = asyncio.run(agent())
    assert stats["sent"] == 5
    assert exporter_value(exporter.url, TURNS) == 5


def test_a_bad_url_is_refused_at_construction():
    with pytest.raises(ValueError, match="http"):
        EventClient("ftp://example.invalid")


def test_a_process_that_exits_without_closing_still_sends_what_it_queued(exporter):
    """The adapters' default client comes from the environment; an atexit hook flushes it."""
    code = (
        "from voice_monitoring.client.call import CallReporter\n"
        "call = CallReporter(call_id='exit-1', tenant='acme')\n"
        "call.start()\n"
        "call.turn(0.5)\n"
        "call.end('user hung up')\n"
    )
    # without the worker health ticker, whose first event may or may not leave before the exit
    env = {**os.environ, "VOICE_MONITORING_URL": exporter.url, "VOICE_MONITORING_HEALTH_INTERVAL": "0"}
    subprocess.run([sys.executable, "-c", code], env=env, timeout=60, check=True)
    assert exporter_value(exporter.url, ACCEPTED) == 3
    assert exporter_value(exporter.url, "ai_agent_calls_ended_total", tenant="acme", reason="user_hangup") == 1
