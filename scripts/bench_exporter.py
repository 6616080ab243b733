"""Exporter benchmarks: ingest throughput and latency, /metrics render time, memory through call churn.

In-process rates are per second of this process's CPU time (time.process_time), best of three
interleaved rounds, so other work on a shared machine disturbs them less than wall-clock rates.

Figures are printed beside a baseline measured in the same run (a plain prometheus_client labelled
``observe()`` loop), because these machines are shared and noisy: the ratio is the figure to compare.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests
from prometheus_client import CollectorRegistry, Histogram

from tests import harness
from voice_monitoring.exporter.core import Exporter, Limits
from voice_monitoring.exporter.request_body import parse_body
from voice_monitoring.exporter.simulator import Simulator

ROOT = Path(__file__).resolve().parent.parent
free_port, wait_for = harness.free_port, harness.wait_for

BATCH = 100
HTTP_PASSES = 7


def baseline_observe_per_second(n: int = 300_000) -> float:
    registry = CollectorRegistry()
    h = Histogram(
        "bench_seconds",
        "baseline",
        ["pipeline", "provider"],
        registry=registry,
        buckets=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0),
    )
    start = time.process_time()
    for i in range(n):
        h.labels("cascade", "deepgram").observe(0.1 + (i % 50) / 10)
    return n / (time.process_time() - start)


def simulated_batches(calls: int) -> list[bytes]:
    events = Simulator("http://127.0.0.1:1", seed=11).generate(calls)
    return [json.dumps(events[i : i + BATCH]).encode() for i in range(0, len(events), BATCH)]


def ingest_per_second(batches: list[bytes]) -> tuple[float, int]:
    """Parse and apply batches in-process (one core): the exporter's own cost per event."""
    exporter = Exporter(Limits(max_live_calls=1_000_000))
    count = 0
    start = time.process_time()
    for body in batches:
        parsed = parse_body(body, "application/json", 10_000)
        accepted, _, rejected = exporter.ingest(parsed.events, fields_checked=parsed.fields_checked)
        assert not rejected, rejected[:3]
        count += accepted
    return count / (time.process_time() - start), count


def render_ms(live_calls: int, keep: bool = False):
    """Median time to render /metrics with ``live_calls`` calls, and its size; with ``keep``, the exporter."""
    exporter = Exporter(Limits(max_live_calls=1_000_000))
    now = time.time()
    for start in range(0, live_calls, 1000):
        batch = []
        for i in range(start, min(start + 1000, live_calls)):
            c = {"call_id": f"call-{i:06d}"}
            batch.append(
                {
                    "type": "call.started",
                    "ts": now,
                    "tenant": "acme",
                    "provider": "deepgram",
                    "pipeline": "cascade",
                    "attrs": {"codec": "pcmu"},
                    **c,
                }
            )
            batch += [{"type": "turn", "ts": now, "attrs": {"latency_seconds": 0.5 + j / 10}, **c} for j in range(4)]
            batch.append(
                {"type": "audio", "ts": now, "attrs": {"underflow": 1, "codec_alignment": True, "rms": 0.1}, **c}
            )
            batch.append(
                {
                    "type": "transport",
                    "ts": now,
                    "attrs": {"rtt_seconds": 0.05, "jitter_seconds": 0.004, "packet_loss_ratio": 0.001},
                    **c,
                }
            )
        exporter.ingest(batch)
    if keep:
        return exporter
    times, size = [], 0
    for _ in range(5):
        start = time.perf_counter()
        size = len(exporter.render())
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), size


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def http_figures(passes: list[list[bytes]], churn_calls: int) -> dict:
    """Against a real exporter process: ingest over HTTP (``passes``, each the same traffic under new ids, each
    between two baselines, so that a pass is compared with the machine as it was around it), latency per batch,
    memory through call churn."""
    port = free_port()
    grace = 3
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "voice-exporter"),
            "--port",
            str(port),
            "--grace-seconds",
            str(grace),
            "--max-live-calls",
            "200000",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    out = {}
    try:
        wait_for(lambda: requests.get(f"{url}/ready", timeout=1).ok, 20, what="the exporter")
        session = requests.Session()
        headers = {"Content-Type": "application/json"}
        out["rss_start"] = rss_mib(proc.pid)
        latencies, per_cpu_s, per_s, baselines = [], [], [], []
        for batches in passes:
            baselines.append(baseline_observe_per_second())
            cpu_start = cpu_seconds(proc.pid)
            start = time.perf_counter()
            for body in batches:
                t0 = time.perf_counter()
                response = session.post(f"{url}/v1/events", data=body, headers=headers)
                latencies.append(time.perf_counter() - t0)
                assert response.status_code == 200, response.text[:300]
            elapsed = time.perf_counter() - start
            events = sum(len(json.loads(b)) for b in batches)
            per_s.append(events / elapsed)
            per_cpu_s.append(events / (cpu_seconds(proc.pid) - cpu_start))
        baselines.append(baseline_observe_per_second())
        out["http_events_per_s"] = max(per_s)
        out["http_events_per_cpu_s"] = max(per_cpu_s)
        out["http_passes_per_cpu_s"] = per_cpu_s
        out["http_baselines"] = baselines
        latencies.sort()
        out["batch_p50_ms"] = latencies[len(latencies) // 2] * 1000
        out["batch_p99_ms"] = latencies[int(len(latencies) * 0.99)] * 1000

        out["live_before_churn"] = _live_calls(session, url)
        peak = 0.0
        for round_ in (1, 2):
            now = time.time()
            for first in range(0, churn_calls, 200):
                batch = []
                for i in range(first, first + 200):
                    c = {"call_id": f"churn{round_}-{i:07d}"}
                    batch.append({"type": "call.started", "ts": now, "tenant": "acme", "provider": "deepgram", **c})
                    batch += [{"type": "turn", "ts": now, "attrs": {"latency_seconds": 0.6}, **c} for _ in range(3)]
                    batch.append(
                        {
                            "type": "call.ended",
                            "ts": now,
                            "attrs": {"duration_seconds": 30, "reason": "user_hangup"},
                            **c,
                        }
                    )
                assert session.post(f"{url}/v1/events", json=batch).status_code == 200
                if first % 10_000 == 0:
                    peak = max(peak, rss_mib(proc.pid))
                    session.get(f"{url}/metrics")
            out[f"rss_during_{round_}"] = max(peak, rss_mib(proc.pid))
            time.sleep(grace + 2.5)
            out[f"live_after_{round_}"] = _live_calls(session, url)
            out[f"rss_after_{round_}"] = rss_mib(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)
    return out


def _live_calls(session, url) -> int:
    for line in session.get(f"{url}/metrics").text.splitlines():
        if line.startswith("ai_agent_exporter_live_calls "):
            return int(float(line.split()[1]))
    return -1


def main() -> int:
    churn = int(os.environ.get("BENCH_CHURN_CALLS", "100000"))
    print("exporter benchmarks (in-process rates per CPU-second; ratios are to a baseline measured in this run)\n")
    batches = simulated_batches(2000)
    baselines, rates = [], []
    for _ in range(3):  # interleaved, so both see the same machine
        baselines.append(baseline_observe_per_second())
        rates.append(ingest_per_second(batches))
    baseline = max(baselines)
    best, count = max(rates)
    print(f"baseline: prometheus_client labelled observe()    {baseline:12,.0f} /s")
    print(
        f"ingest in-process, batches of {BATCH}, simulator mix {best:12,.0f} events/s "
        f"({best / baseline:.3f}x baseline; {count:,} events, best of 3)"
    )
    for calls in (1000, 10_000):
        ms, size = render_ms(calls)
        print(f"/metrics render with {calls:>6,} live calls          {ms:9.1f} ms ({size / 1e6:.1f} MB)")
    passes = [batches[:400]] + [simulated_batches(2000)[:400] for _ in range(HTTP_PASSES - 1)]  # new ids each
    figures = http_figures(passes, churn)
    around = figures["http_baselines"]
    ratios = [
        rate / ((before + after) / 2)
        for rate, before, after in zip(figures["http_passes_per_cpu_s"], around, around[1:], strict=False)
    ]
    print(
        f"ingest over HTTP (1 client, keep-alive)          {figures['http_events_per_cpu_s']:12,.0f} events per "
        f"exporter CPU-second (best of {HTTP_PASSES} passes); {statistics.median(ratios):.3f}x baseline, the median "
        f"of the passes each to the mean of the baselines just before and after it "
        f"({', '.join(f'{r:.3f}' for r in ratios)}; baselines {min(around):,.0f} to {max(around):,.0f} /s); "
        f"{figures['http_events_per_s']:,.0f} events/s wall-clock"
    )
    print(
        f"ingest latency per batch of {BATCH}: p50 {figures['batch_p50_ms']:.2f} ms, "
        f"p99 {figures['batch_p99_ms']:.2f} ms"
    )
    print(f"resident memory, two rounds of a churn of {churn:,} calls each (4 turns, grace 3 s):")
    print(f"  before {figures['rss_start']:.1f} MiB ({figures['live_before_churn']} live calls left by the HTTP phase)")
    for r in (1, 2):
        print(
            f"  round {r}: peak {figures[f'rss_during_{r}']:.1f} MiB, after grace {figures[f'rss_after_{r}']:.1f} "
            f"MiB, live calls {figures[f'live_after_{r}']}"
        )
    print(f"  growth from round 1 to round 2 after grace: {figures['rss_after_2'] - figures['rss_after_1']:+.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
