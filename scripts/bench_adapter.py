"""Adapter measurement benchmark: what analysing a call's audio, statistics and health costs the agent.

1. Microseconds per 20-ms frame for ``AudioMeter.feed`` at 16 kHz and 48 kHz mono (every frame analysed), and for
   ``PlayoutGaps.frame``, beside a baseline measured in the same run: one pass over the frame's bytes (numpy
   reading them into a copy). Best of three rounds.
2. Microseconds per statistics poll: a LiveKit room's statistics (publisher and subscriber, built from LiveKit's
   own protobufs) through ``from_livekit`` and ``TransportReading``, beside one pass of protobuf over the same
   messages (``ByteSize``); and, over a real aiortc call on loopback, aiortc's own ``getStats()`` (the baseline)
   and ``from_aiortc`` with ``TransportReading`` on top.
3. The adapter's CPU per concurrent call, as a share of one core: ``CALLS`` calls in one process for ``SECONDS``
   of real time, each with caller audio in and agent audio out at 50 frames/s (48 kHz mono, the costlier rate)
   through an ``AudioMeter`` each and ``PlayoutGaps``, audio and transport events every 5 s from a LiveKit
   statistics poll, and the worker health ticker, all sending to a real exporter. The baseline is the same
   loop handing the same frames on without analysis, events or ticker; the difference, per call, is the
   adapter's cost. The framework's own hooks around it (its metrics events, ``getStats()``) are not included.
   Goal: at most 0.5% of one core per call.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tests import harness
from voice_monitoring.client import EventClient, worker_health
from voice_monitoring.client.audio_meter import AudioMeter, PlayoutGaps
from voice_monitoring.client.call import CallReporter
from voice_monitoring.client.webrtc_stats import TransportReading, from_aiortc, from_livekit

FRAMES_PER_SECOND = 50
REPORT_SECONDS = 5.0
GOAL = 0.005


def speech_like_frame(rate: int, seed: int = 1) -> bytes:
    """20 ms of noise at a speech-like level (about -20 dBFS)."""
    samples = np.random.default_rng(seed).normal(0, 3300, rate // FRAMES_PER_SECOND)
    return np.clip(samples, -32768, 32767).astype("<i2").tobytes()


def per_call_us(function, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        function()
    return (time.perf_counter() - start) / n * 1e6


def best_of_three(function, n: int) -> float:
    return min(per_call_us(function, n) for _ in range(3))


def frame_costs(n: int) -> None:
    print(f"per 20-ms frame, {n:,} frames, best of three (microseconds; the baseline is one pass over the bytes)")
    for rate in (16000, 48000):
        pcm = speech_like_frame(rate)
        meter = AudioMeter("caller_in", budget=1.0)  # every frame analysed: the cost of analysing one
        base = best_of_three(lambda pcm=pcm: np.frombuffer(pcm, dtype="<i2").copy(), n)
        cost = best_of_three(lambda pcm=pcm, rate=rate, meter=meter: meter.feed(pcm, rate), n)
        name = f"AudioMeter.feed, {rate // 1000} kHz mono"
        print(f"  {name:<30}{cost:6.2f} us   baseline {base:5.2f} us  ({cost / base:.1f}x)")
    gaps = PlayoutGaps()
    clock = time.monotonic
    cost = best_of_three(lambda: gaps.frame(clock(), 0.02), n)
    print(f"  {'PlayoutGaps.frame':<30}{cost:6.2f} us")


def livekit_poll_cost(n: int) -> None:
    try:
        from tests.client.livekit_stats import livekit_room_stats
    except ImportError:
        print("  LiveKit: livekit is not installed (make frameworks)")
        return
    rounds = iter(range(10**9))

    def room():
        i = next(rounds)
        return livekit_room_stats(
            1000 + 50 * i, 10, 4800 + i, 480000 + 48000 * i, 40000 + 800 * i, 42000 + 800 * i,
            jitter=0.012, remote_jitter=0.004, rtt=0.045, fraction_lost=0.002,
        )  # fmt: skip

    rooms = [room() for _ in range(n)]
    messages = [m for r in rooms for m in r.publisher_stats + r.subscriber_stats]
    reading = TransportReading()
    walk = iter(rooms)
    base = per_call_us(lambda: [m.ByteSize() for m in next(walk).subscriber_stats], 1)  # warm up
    walk = iter(rooms[1:])
    base = per_call_us(
        lambda: [m.ByteSize() for r in [next(walk)] for m in r.publisher_stats + r.subscriber_stats], n - 1
    )
    walk = iter(rooms)
    cost = per_call_us(lambda: reading.attrs(from_livekit(next(walk))), n)
    per_room = len(messages) // n
    name = f"LiveKit room, {per_room} stats objects"
    print(f"  {name:<34}{cost:7.1f} us   baseline {base:5.1f} us (protobuf's ByteSize over them)")


def aiortc_poll_cost(n: int) -> None:
    try:
        from tests.client.webrtc_loopback import loopback_call
    except ImportError:
        print("  aiortc: not installed (make frameworks)")
        return

    async def measure():
        caller, agent, close = await loopback_call()
        try:
            reading = TransportReading()
            reports, start = [], time.perf_counter()
            for _ in range(n):
                reports.append(await agent.getStats())
            get_stats = (time.perf_counter() - start) / n * 1e6
            start = time.perf_counter()
            for report in reports:
                reading.attrs(from_aiortc(report, agent))
            convert = (time.perf_counter() - start) / n * 1e6
            return get_stats, convert, len(reports[-1])
        finally:
            await close()

    get_stats, convert, size = asyncio.run(asyncio.wait_for(measure(), 60))
    name = f"aiortc call, {size} stats objects"
    print(f"  {name:<34}{convert:7.1f} us   baseline {get_stats:5.1f} us (aiortc's own getStats())")


async def one_call(
    index: int, client: EventClient, seconds: float, analyse: bool, caller_pcm: bytes, agent_pcm: bytes
) -> None:
    from tests.client.livekit_stats import livekit_room_stats

    call = CallReporter(client, call_id=f"bench-{index}", provider="openai")
    if analyse:  # the baseline sends nothing, so the worker health ticker does not run either
        call.start("webrtc")
    caller, agent, gaps, reading = AudioMeter("caller_in"), AudioMeter("agent_out"), PlayoutGaps(), TransportReading()
    loop = asyncio.get_running_loop()
    start = loop.time()
    next_report = start + REPORT_SECONDS
    frame, polls = 0, 0
    handed = []
    while (now := loop.time()) < start + seconds:
        if analyse:
            caller.feed(caller_pcm, 48000)
            agent.feed(agent_pcm, 48000)
            gaps.frame(now, 0.02)
        else:
            handed.append(len(caller_pcm) + len(agent_pcm))  # hand the frames on, nothing more
        if analyse and now >= next_report:
            polls += 1
            for report in (caller.report(), agent.report()):
                call.audio(report)
            call.audio({"stage": "agent_out", "underflow": gaps.take()})
            room = livekit_room_stats(
                1000 * polls, polls, 480 * polls, 240000 * polls, 40000 * polls, 42000 * polls,
                jitter=0.012, remote_jitter=0.004, rtt=0.045, fraction_lost=0.002,
            )  # fmt: skip
            call.transport(reading.attrs(from_livekit(room)))
            next_report += REPORT_SECONDS
        frame += 1
        await asyncio.sleep(max(0.0, start + frame / FRAMES_PER_SECOND - loop.time()))
    call.end("agent hung up")  # nothing without start


def cpu_per_call(url: str, calls: int, seconds: float) -> None:
    try:
        import tests.client.livekit_stats  # noqa: F401
    except ImportError:
        print("  (needs livekit for its statistics objects: make frameworks)")
        return
    caller_pcm, agent_pcm = speech_like_frame(48000, 1), speech_like_frame(48000, 2)

    def run(analyse: bool) -> float:
        async def all_calls():
            await asyncio.gather(*(one_call(i, client, seconds, analyse, caller_pcm, agent_pcm) for i in range(calls)))

        with EventClient(url) as client:
            started = time.process_time()
            asyncio.run(all_calls())
            client.flush(10)
            return time.process_time() - started

    worker_health.configure(interval=worker_health.DEFAULT_INTERVAL, worker="bench-adapter")
    baseline = run(False)
    analysed = run(True)
    per_call = max(analysed - baseline, 0.0) / (calls * seconds)
    print(
        f"  {calls} calls for {seconds:g} s: CPU {analysed:.2f} s analysing, {baseline:.2f} s baseline "
        f"(the same loop handing the frames on)"
    )
    verdict = "within" if per_call <= GOAL else "OVER"
    print(f"  adapter CPU per call: {per_call * 100:.3f}% of one core ({verdict} the {GOAL * 100:g}% goal)")


def main() -> int:
    n = int(os.environ.get("BENCH_ADAPTER_FRAMES", "20000"))
    calls = int(os.environ.get("BENCH_ADAPTER_CALLS", "20"))
    seconds = float(os.environ.get("BENCH_ADAPTER_SECONDS", "12"))
    print("adapter measurement: audio analysis, statistics polls and worker health, per call\n")
    frame_costs(n)
    print("\nper statistics poll (every 5 s in the adapters), microseconds")
    livekit_poll_cost(min(n, 2000))
    aiortc_poll_cost(200)
    health = worker_health.WorkerHealth(interval=0, worker="bench-adapter")
    health.resources.cpu_ratio()
    cost = per_call_us(lambda: (health.resources.memory_ratio(), health.resources.cpu_ratio()), 200)
    print(f"  {'worker health sample (per process)':<34}{cost:7.1f} us   every 15 s")
    print(f"\nCPU per concurrent call: caller in and agent out at {FRAMES_PER_SECOND} frames/s each, polls every 5 s")
    with tempfile.TemporaryDirectory() as tmp, harness.start_exporter(Path(tmp)) as exporter:
        cpu_per_call(exporter.url, calls, seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
