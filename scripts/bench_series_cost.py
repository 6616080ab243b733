"""What per-call series cost Prometheus: series per call, and Prometheus head series and memory per call at two
call rates, with every call's series (ratio 1) and with --per-call-sample-ratio.

Each run starts a real exporter and a real Prometheus (scraping every 5 s, fresh storage) on loopback ports,
plays calls at a fixed rate for a fixed time (each call sends every event type, lasts CALL_SECONDS and keeps
its series GRACE_SECONDS after it ends; one call in SLOW_EVERY has turns slow enough to breach the p95 gate),
then reads Prometheus's own prometheus_tsdb_head_series and its RSS.  The figures per call are the growth
over the run divided by the calls played; the run with ratio 1 is the baseline the knob is compared with.

    python -m scripts.bench_series_cost [--seconds 60] [--rates 1000,10000] [--ratio 0.1]

The issue's rates are 1,000 and 10,000 calls a minute; a run plays one minute of each, so the 10k run holds
10,000 calls' series in the head block, not the hours' worth a production Prometheus holds (memory per call
is what carries over).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.exporter.full_call import call_end, full_call
from tests.harness import post_events, prometheus_config, start_exporter, start_prometheus, wait_for
from voice_monitoring.exporter.core import Exporter

SCRAPE = "5s"
CALL_SECONDS = 20
GRACE_SECONDS = 10
SLOW_EVERY = 20
SETTLE_SECONDS = 12


def series_per_call() -> int:
    """Per-call series of one call that sent every event type."""
    exporter = Exporter()
    now = time.time()
    exporter.ingest(full_call("one", now) + [call_end("one", now)])
    return int(metric_value(exporter.render().decode(), "ai_agent_exporter_per_call_series"))


def metric_value(text: str, name: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name:
                return s.value
    raise KeyError(name)


def prometheus_figures(url: str) -> tuple[float, float]:
    """(head series, resident memory in bytes) from Prometheus's own /metrics."""
    text = requests.get(f"{url}/metrics", timeout=10).text
    return metric_value(text, "prometheus_tsdb_head_series"), metric_value(text, "process_resident_memory_bytes")


def scrapes(url: str) -> float:
    text = requests.get(f"{url}/metrics", timeout=10).text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "prometheus_target_interval_length_seconds_count"
    )


def wait_scrapes(url: str, count: int) -> None:
    target = scrapes(url) + count
    wait_for(lambda: scrapes(url) >= target, 60, interval=0.5, what=f"{count} scrapes")


def play(exporter_url: str, per_minute: int, seconds: int, run: str) -> int:
    """Start ``per_minute`` calls a minute for ``seconds``; returns the number of calls."""
    session = requests.Session()
    started: list[tuple[float, str]] = []
    ended = 0
    owed = 0.0
    start = time.monotonic()
    tick = start
    while tick - start < seconds:
        now = time.time()
        owed += per_minute / 60.0
        events = []
        while owed >= 1.0:
            owed -= 1.0
            number = len(started)
            call_id = f"{run}-{number:06d}"
            slow = number % SLOW_EVERY == 0
            events += full_call(call_id, now, turn_seconds=3.0 if slow else 0.7)
            started.append((tick, call_id))
        while ended < len(started) and started[ended][0] <= tick - CALL_SECONDS:
            events.append(call_end(started[ended][1], now))
            ended += 1
        for first in range(0, len(events), 5000):
            response = session.post(f"{exporter_url}/v1/events", json=events[first : first + 5000], timeout=30)
            response.raise_for_status()
            if response.json()["accepted"] != len(events[first : first + 5000]):
                raise RuntimeError(f"the exporter refused events: {response.text[:500]}")
        tick += 1.0
        time.sleep(max(0.0, tick - time.monotonic()))
    return len(started)


def run_once(per_minute: int, seconds: int, ratio: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-series-") as tmp:
        flags = ("--per-call-sample-ratio", str(ratio), "--grace-seconds", str(GRACE_SECONDS))
        with start_exporter(Path(tmp), *flags) as exporter:
            host = exporter.url.split("//", 1)[1]
            config = prometheus_config({"voice_exporter": [host]}, interval=SCRAPE)
            with start_prometheus(Path(tmp), config) as prometheus:
                post_events(exporter.url, full_call("warm-up", time.time()))  # every fleet series exists first
                wait_scrapes(prometheus.url, 3)
                series_before, rss_before = prometheus_figures(prometheus.url)
                calls = play(exporter.url, per_minute, seconds, f"r{per_minute}-{ratio}")
                time.sleep(SETTLE_SECONDS)
                wait_scrapes(prometheus.url, 1)
                series_after, rss_after = prometheus_figures(prometheus.url)
                text = requests.get(f"{exporter.url}/metrics", timeout=30).text
                promoted = metric_value(text, "ai_agent_exporter_calls_promoted_total")
    return {
        "calls": calls,
        "series": series_after - series_before,
        "rss": rss_after - rss_before,
        "rss_before": rss_before,
        "promoted": promoted,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench_series_cost", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="seconds of traffic per run (default 60)")
    parser.add_argument("--rates", default="1000,10000", help="calls per minute, comma-separated")
    parser.add_argument("--ratio", type=float, default=0.1, help="--per-call-sample-ratio of the knob runs")
    args = parser.parse_args(argv)
    rates = [int(r) for r in args.rates.split(",")]
    per_call = series_per_call()
    print("per-call series cost in Prometheus (Prometheus scraping every 5 s; baseline: the same traffic at ratio 1)\n")
    print(f"per-call series of a call that sends every event type: {per_call}")
    print(f"calls last {CALL_SECONDS} s plus {GRACE_SECONDS} s grace; 1 in {SLOW_EVERY} breaches the p95 gate\n")
    header = (
        f"{'calls/min':>9} {'ratio':>5} {'calls':>6} {'promoted':>8} {'head series':>11} {'series/call':>11} "
        f"{'RSS growth':>10} {'KiB/call':>8} {'vs ratio 1':>10}"
    )
    print(header)
    for per_minute in rates:
        baseline = None
        for ratio in (1.0, args.ratio):
            r = run_once(per_minute, args.seconds, ratio)
            kib_per_call = r["rss"] / 1024 / r["calls"]
            baseline = baseline or kib_per_call
            print(
                f"{per_minute:>9,} {ratio:>5g} {r['calls']:>6,} {r['promoted']:>8,.0f} {r['series']:>11,.0f} "
                f"{r['series'] / r['calls']:>11.2f} {r['rss'] / 2**20:>7.0f} MiB {kib_per_call:>8.1f} "
                f"{kib_per_call / baseline:>9.2f}x",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
