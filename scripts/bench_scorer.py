"""Benchmark of the scorer: cycle time and queries per cycle with 1,000 and 10,000 live calls.

Starts a real exporter and a real Prometheus on loopback ports, posts calls to
the exporter in batches, waits until Prometheus has scraped them all, then times
scoring cycles of the real scorer (batched queries) next to a one-query-per-call
reader measured on the same data, and the PromQL client (aiohttp, connections kept alive) next to the
http.client transport it replaced (a new connection per query) on the same cycles.  Prints two tables.
"""

from __future__ import annotations

import argparse
import http.client
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from tests.harness import post_events, prometheus_config, query, start_exporter, start_prometheus, wait_for
from voice_monitoring.scorer.inputs import INPUT_NAMES, QUERIES, InputReader, Query, merge
from voice_monitoring.scorer.promql import PrometheusClient, Sample, parse_vector
from voice_monitoring.scorer.scoring_parameters import DEFAULTS
from voice_monitoring.scorer.service import Scorer
from voice_monitoring.shared import catalogue

ROOT = Path(__file__).resolve().parent.parent

JOB = "voice_exporter"
TURNS = catalogue.metric("ai_agent_call_turns").name


def call_events(call_id: str, rng: random.Random, now: float) -> list[dict]:
    events = [
        {
            "type": "call.started",
            "ts": now,
            "call_id": call_id,
            "tenant": rng.choice(("acme", "globex")),
            "provider": rng.choice(("deepgram", "openai_realtime")),
            "attrs": {"codec": "pcmu"},
        }
    ]
    for _ in range(rng.randint(2, 5)):
        events.append(
            {
                "type": "turn",
                "ts": now,
                "call_id": call_id,
                "attrs": {
                    "latency_seconds": round(rng.uniform(0.5, 2.0), 3),
                    "agent_speech_seconds": round(rng.uniform(2, 6), 2),
                },
            }
        )
        events.append(
            {
                "type": "audio",
                "ts": now,
                "call_id": call_id,
                "attrs": {
                    "stage": "agent_out",
                    "rms": round(rng.uniform(0.05, 0.2), 4),
                    "underflow": int(rng.random() < 0.1),
                    "codec_alignment": True,
                },
            }
        )
    events.append(
        {
            "type": "transport",
            "ts": now,
            "call_id": call_id,
            "attrs": {
                "rtt_seconds": round(rng.uniform(0.04, 0.2), 3),
                "jitter_seconds": round(rng.uniform(0.002, 0.02), 4),
                "packet_loss_ratio": round(rng.uniform(0, 0.02), 4),
                "burst_ratio": 1.0,
            },
        }
    )
    return events


def load_calls(exporter_url: str, first: int, count: int, rng: random.Random) -> None:
    batch: list[dict] = []
    for i in range(first, first + count):
        batch += call_events(f"bench-{i:06d}", rng, time.time())
        if len(batch) >= 5000:
            post_events(exporter_url, batch).raise_for_status()
            batch = []
    if batch:
        post_events(exporter_url, batch).raise_for_status()


def single_query() -> tuple[Query, ...]:
    """The scorer's read as one query without the default-value filters (the comparison)."""
    return (Query(INPUT_NAMES, labels=("provider", "tenant", "codec")),)


def live_calls(prom_url: str) -> int:
    result = query(prom_url, f'count({TURNS}{{job="{JOB}"}})')
    return int(float(result[0]["value"][1])) if result else 0


class HttpClientBaseline(PrometheusClient):
    """The transport the client had before aiohttp, for the comparison: http.client, one connection per query."""

    def instant(self, expr: str) -> list[Sample]:
        url = urlsplit(self.base_url)
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=self.timeout)
        try:
            body = urlencode({"query": expr, "timeout": f"{self.timeout:g}"}).encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
            connection.request("POST", f"{url.path}/api/v1/query", body=body, headers=headers)
            response = connection.getresponse()
            return parse_vector(response.status, response.read())
        finally:
            connection.close()


def time_batched(prom_url: str, cycles: int, queries=QUERIES, client_type=PrometheusClient) -> dict:
    reader = InputReader(client_type(prom_url, timeout=60), job=JOB, queries=queries)
    scorer = Scorer(reader, DEFAULTS, interval=30)
    durations = []
    try:
        for _ in range(cycles):
            started = time.perf_counter()
            if not scorer.cycle():
                raise RuntimeError(f"scoring cycle failed: {scorer.last_error}")
            durations.append(time.perf_counter() - started)
    finally:
        reader.close()
        reader.client.close()
    queries = scorer.metrics.registry.get_sample_value(catalogue.metric("ai_agent_scorer_queries_total").name) / cycles
    return {
        "seconds": statistics.median(durations),
        "worst": max(durations),
        "queries": queries,
        "calls": len(scorer.records),
        "scored": sum(r.assessment.score is not None for r in scorer.records.values()),
    }


def time_per_call(prom_url: str, limit_seconds: float) -> dict:
    """One query to list the calls, then one query per call; extrapolated past ``limit_seconds``."""
    client = PrometheusClient(prom_url, timeout=60)
    per_call = single_query()[0]
    started = time.perf_counter()
    ids = [labels["call_id"] for labels, _ in client.instant(f'{TURNS}{{job="{JOB}"}}')]
    done = 0
    vectors = []
    for call_id in ids:
        vectors.append(client.instant(per_call.expr(JOB, call_id)))
        done += 1
        if time.perf_counter() - started > limit_seconds:
            break
    merge(vectors)
    elapsed = time.perf_counter() - started
    seconds = elapsed * len(ids) / done
    return {"seconds": seconds, "queries": 1 + len(ids), "extrapolated": done < len(ids), "measured": done}


def compare_clients(prom_url: str, cycles: int, small_queries: int = 300) -> dict:
    """The batched cycle and one small query (one call's inputs, as the read API sends) on each transport,
    alternating cycle by cycle and query by query, so both see the same machine at the same moments."""
    transports = (PrometheusClient, HttpClientBaseline)
    scorers = [Scorer(InputReader(t(prom_url, timeout=60), job=JOB), DEFAULTS, interval=30) for t in transports]
    cycle: list[list[float]] = [[], []]
    query: list[list[float]] = [[], []]
    try:
        for _ in range(cycles * 4):
            for i, scorer in enumerate(scorers):
                started = time.perf_counter()
                if not scorer.cycle():
                    raise RuntimeError(f"scoring cycle failed: {scorer.last_error}")
                cycle[i].append(time.perf_counter() - started)
        ids = [labels["call_id"] for labels, _ in scorers[0].reader.client.instant(f'{TURNS}{{job="{JOB}"}}')]
        for call_id in ids[:small_queries]:
            expr = single_query()[0].expr(JOB, call_id)
            for i, scorer in enumerate(scorers):
                started = time.perf_counter()
                scorer.reader.client.instant(expr)
                query[i].append(time.perf_counter() - started)
    finally:
        for scorer in scorers:
            scorer.reader.close()
            scorer.reader.client.close()
    return {
        "cycle": statistics.median(cycle[0]),
        "cycle_baseline": statistics.median(cycle[1]),
        "query": statistics.median(query[0]),
        "query_baseline": statistics.median(query[1]),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1000,10000", help="live call counts to measure, ascending")
    p.add_argument("--cycles", type=int, default=5, help="scoring cycles timed per size")
    p.add_argument(
        "--baseline-limit",
        type=float,
        default=60.0,
        help="seconds the one-query-per-call baseline may run before it is extrapolated",
    )
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    rng = random.Random(5)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-scorer-") as tmp:
        tmp_path = Path(tmp)
        with start_exporter(tmp_path, "--idle-seconds", "3600") as exporter:
            host = exporter.url.split("//", 1)[1]
            config = prometheus_config({JOB: [host]}, interval="15s")
            config["global"]["scrape_timeout"] = "14s"
            with start_prometheus(tmp_path, config) as prom:
                loaded = 0
                for size in sizes:
                    began = time.perf_counter()
                    load_calls(exporter.url, loaded, size - loaded, rng)
                    loaded = size
                    print(
                        f"posted {size} calls in {time.perf_counter() - began:.1f}s; waiting for a scrape",
                        file=sys.stderr,
                        flush=True,
                    )
                    wait_for(
                        lambda size=size: live_calls(prom.url) >= size,
                        120,
                        interval=1.0,
                        what=f"{size} calls in Prometheus",
                    )
                    batched = time_batched(prom.url, args.cycles)
                    single = time_batched(prom.url, args.cycles, queries=single_query())
                    baseline = time_per_call(prom.url, args.baseline_limit)
                    rows.append((size, batched, single, baseline, compare_clients(prom.url, args.cycles)))
                    print(f"measured {size}", file=sys.stderr, flush=True)
    print()
    print(
        "Scorer cycle: batched instant queries vs one query per call (median of "
        f"{args.cycles} cycles; same exporter and Prometheus)"
    )
    header = ("live calls", "scored", "batched s", "worst s", "queries", "1-query s", "per-call s", "per-call queries")
    print(" | ".join(f"{h:>12}" for h in header))
    ok = True
    for size, batched, single, baseline, _ in rows:
        mark = "*" if baseline["extrapolated"] else ""
        print(
            " | ".join(
                f"{v:>12}"
                for v in (
                    size,
                    batched["scored"],
                    f"{batched['seconds']:.3f}",
                    f"{batched['worst']:.3f}",
                    f"{batched['queries']:.0f}",
                    f"{single['seconds']:.3f}",
                    f"{baseline['seconds']:.2f}{mark}",
                    baseline["queries"],
                )
            )
        )
        if size >= 10_000:
            ok = ok and batched["seconds"] < 3.0 and batched["queries"] <= 12
    if any(baseline["extrapolated"] for _, _, _, baseline, _ in rows):
        print("* extrapolated from the first calls measured within the time limit")
    print(f"goal (10,000 calls under 3 s with at most 12 queries): {'met' if ok else 'NOT met'}")
    print()
    print("PromQL client: aiohttp (kept-alive connections) over the former http.client transport, same run")
    header = ("live calls", "cycle s", "http.client s", "cycle ratio", "query ms", "http.client ms", "query ratio")
    print(" | ".join(f"{h:>14}" for h in header))
    for size, *_, clients in rows:
        cells = (
            size,
            f"{clients['cycle']:.3f}",
            f"{clients['cycle_baseline']:.3f}",
            f"{clients['cycle'] / clients['cycle_baseline']:.2f}x",
            f"{clients['query'] * 1000:.2f}",
            f"{clients['query_baseline'] * 1000:.2f}",
            f"{clients['query'] / clients['query_baseline']:.2f}x",
        )
        print(" | ".join(f"{v:>14}" for v in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
