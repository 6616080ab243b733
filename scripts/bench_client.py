"""Event client benchmark: what one ``send()`` costs the agent, with a live exporter and with a dead one.

Each call is timed on its own (time.perf_counter_ns), so the percentiles include the timer itself and any
wait for the GIL while the client's thread encodes and posts a batch. The baseline is the same loop around
a bare ``deque.append`` of a ready-made event under a lock, measured in the same run: the ratio is the
figure to compare, the microseconds depend on the machine.

Events are sent in bursts of ``BURST`` every ``PAUSE_SECONDS`` (10,000 a second, a very busy agent process),
not in a tight loop, which would only measure how fast the queue overflows. The first send after a pause is
slower (cold caches); it is 0.2% of the samples, below the p99 cut. Best of three interleaved rounds.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path

from tests import harness
from voice_monitoring.client import EventClient

BURST = 500
PAUSE_SECONDS = 0.05


def percentiles(samples_ns: list[int]) -> tuple[float, float]:
    """p50 and p99 in microseconds."""
    cuts = statistics.quantiles(samples_ns, n=100, method="inclusive")
    return cuts[49] / 1000, cuts[98] / 1000


def timed(enqueue, n: int) -> list[int]:
    clock = time.perf_counter_ns
    samples = []
    attrs = {"latency_seconds": 0.62, "llm_ttft_seconds": 0.31}
    for i in range(n):
        start = clock()
        enqueue("turn", "bench-call", attrs)
        samples.append(clock() - start)
        if i % BURST == BURST - 1:
            time.sleep(PAUSE_SECONDS)
    return samples


def baseline(n: int) -> list[int]:
    queue: deque = deque(maxlen=10_000)
    lock = threading.Lock()
    event = {"type": "turn", "ts": 0.0, "id": "x-0", "call_id": "bench-call"}

    def append(type, call_id, attrs):
        with lock:
            queue.append(event)

    return timed(append, n)


def client_run(url: str, n: int) -> tuple[list[int], dict]:
    client = EventClient(url, labels={"tenant": "bench", "provider": "deepgram", "pipeline": "cascade"}, backoff=0.05)
    try:
        samples = timed(client.send, n)
        client.flush(5)
        return samples, client.stats()
    finally:
        client.close(timeout=1)


def main() -> int:
    n = int(os.environ.get("BENCH_CLIENT_EVENTS", "20000"))
    print(f"event client: cost of send() to the caller, {n:,} events in bursts of {BURST}")
    print("(microseconds per event including the timer; ratios are to a baseline measured in this run)\n")
    with tempfile.TemporaryDirectory() as tmp, harness.start_exporter(Path(tmp)) as exporter:
        rounds = {"baseline": [], "live": [], "dead": []}
        stats = {}
        dead_url = f"http://127.0.0.1:{harness.free_port()}"
        for _ in range(3):  # interleaved, so all three see the same machine
            rounds["baseline"].append(percentiles(baseline(n)))
            samples, stats["live"] = client_run(exporter.url, n)
            rounds["live"].append(percentiles(samples))
            samples, stats["dead"] = client_run(dead_url, n)
            rounds["dead"].append(percentiles(samples))
    best = {name: min(runs, key=lambda r: r[1]) for name, runs in rounds.items()}
    base_p50, base_p99 = best["baseline"]
    print(f"baseline: deque.append under a lock          p50 {base_p50:6.2f} us   p99 {base_p99:6.2f} us")
    for name, label in (("live", "send(), exporter up"), ("dead", "send(), exporter down")):
        p50, p99 = best[name]
        print(
            f"{label:<44} p50 {p50:6.2f} us   p99 {p99:6.2f} us   "
            f"({p50 / base_p50:.1f}x / {p99 / base_p99:.1f}x baseline)"
        )
    live, dead = stats["live"], stats["dead"]
    for name, figures in (("exporter up:  ", live), ("exporter down:", dead)):
        dropped = {reason: count for reason, count in figures["dropped"].items() if count} or "nothing"
        print(f"{name} sent {figures['sent']:,}, dropped {dropped}")
    print("(the queue holds 10,000; what is still queued when the client closes after 6 s is unsent_at_close)")
    print(f"dead exporter vs live, p99: {best['dead'][1] / best['live'][1]:.2f}x (1.0 = no added latency)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
