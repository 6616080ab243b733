"""What the "calls in range" tables cost Prometheus for a day of traffic: samples touched and time per query.

Per-call series of ``--calls`` calls spread over ``--hours`` (score, band, six penalty factors and running cost,
scraped every 15 s over each call's life and its grace period) and the scorer's final records (published at each
scrape for the calls that rank then among the worst or costliest of their provider and tenant ended in the last
FINAL_SECONDS, as ``scorer.final_records.ranked`` chooses them) are written as OpenMetrics and backfilled with
promtool's own ``promtool tsdb create-blocks-from openmetrics``. A real Prometheus started on those blocks
(default limits) then answers, at the window's end and over the whole window as ``$__range``, the drill-down
tables' queries in two passes: the queries the dashboards sent before the final records existed (read from the
dashboards of BASELINE) and the generated dashboards' queries, plus Call Detail's for one call. Each query runs
REPEATS times, one at a time; the median time and Prometheus' own ``samples.totalQueryableSamples``
(``stats=all``) are printed.

    python -m scripts.bench_drilldown [--calls 100000] [--hours 6] [--passes baseline,current]

A backfill of 100,000 calls takes a few minutes on two cores; the files go under a temporary directory removed at
the end.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml

from grafana.builder import build_all
from tests.dashboards.board_walk import drill_down_table, panel_by_title, substitute
from tests.harness import free_port, local_service
from voice_monitoring.scorer.final_records import DEFAULT_RANKED, DEFAULT_TTL_SECONDS, FinalRecord, ranked
from voice_monitoring.scorer.model import FACTORS
from voice_monitoring.shared import quality_bands

ROOT = Path(__file__).resolve().parents[1]
# The last commit whose drill-down tables read every per-call series over the range.
BASELINE = "136cba5"
SCRAPE_SECONDS = 15
CALL_SECONDS = 180
GRACE_SECONDS = 60
FINAL_SECONDS = DEFAULT_TTL_SECONDS
PROVIDERS = ("deepgram", "openai", "elevenlabs", "cartesia")
TENANTS = ("acme", "globex", "initech", "umbrella", "hooli")
TABLE_BOARDS = ("voice-provider-performance", "voice-call-quality", "voice-cost-tracking")
CALL_DETAIL = ("Quality score", "Band", "Main penalty")
REPEATS = 3


@dataclass(frozen=True)
class Call:
    call_id: str
    provider: str
    tenant: str
    start: float
    score: float
    penalties: tuple[float, ...]
    cost: float

    @property
    def end(self) -> float:
        return self.start + CALL_SECONDS

    @property
    def band(self) -> quality_bands.Band:
        return quality_bands.QUALITY_BANDS.of(self.score)


def main_factor(call: Call) -> str:
    return FACTORS[max(range(len(FACTORS)), key=lambda i: call.penalties[i])]


def calls(count: int, window_end: float, hours: float, seed: int = 7) -> list[Call]:
    rng = random.Random(seed)
    span = hours * 3600
    out = []
    for i in range(count):
        penalties = tuple(round(rng.uniform(0, 15), 3) for _ in FACTORS)
        out.append(
            Call(
                f"call-{i:07d}",
                PROVIDERS[i % len(PROVIDERS)],
                TENANTS[i % len(TENANTS)],
                round(window_end - span + rng.uniform(0, span - CALL_SECONDS), 3),
                round(max(0.0, 100 - sum(penalties)), 3),
                penalties,
                round(rng.uniform(0.01, 2.0), 4),
            )
        )
    return out


def _times(start: float, stop: float, window_end: float):
    t = start
    while t < stop and t <= window_end:
        yield t
        t += SCRAPE_SECONDS


def published_final_records(all_calls: list[Call], window_end: float) -> dict[str, list[float]]:
    """The scrape times at which the scorer publishes each call's final record."""
    ended = sorted(all_calls, key=lambda c: c.end)
    records = [
        FinalRecord(c.call_id, c.provider, c.tenant, c.score, c.band.name, main_factor(c), c.cost, c.end) for c in ended
    ]
    times: dict[str, list[float]] = {}
    first, last = 0, 0
    t = records[0].at - records[0].at % SCRAPE_SECONDS + SCRAPE_SECONDS
    while t <= window_end:
        while last < len(records) and records[last].at <= t:
            last += 1
        while first < last and t - records[first].at >= FINAL_SECONDS:
            first += 1
        for r in ranked(records[first:last], DEFAULT_RANKED):
            times.setdefault(r.call_id, []).append(t)
        t += SCRAPE_SECONDS
    return times


def write_openmetrics(path: Path, all_calls: list[Call], window_end: float) -> int:
    """The calls' per-call series and final records as OpenMetrics (one family after another); returns samples."""
    samples = 0
    with path.open("w") as out:

        def family(name: str, rows) -> None:
            nonlocal samples
            out.write(f"# TYPE {name} gauge\n")
            lines = []
            for row in rows:
                if len(row) == 3:
                    labels, times, constant = row
                    lines.extend(f"{name}{{{labels}}} {constant} {t:.3f}\n" for t in times)
                    continue
                labels, start, stop, value = row
                for t in _times(start, stop, window_end):
                    lines.append(f"{name}{{{labels}}} {value(t)} {t:.3f}\n")
                if len(lines) > 100_000:
                    out.writelines(lines)
                    samples += len(lines)
                    lines = []
            out.writelines(lines)
            samples += len(lines)

        def labels(c: Call) -> str:
            return f'call_id="{c.call_id}",provider="{c.provider}",tenant="{c.tenant}",job="voice"'

        def life(c: Call, value):
            return labels(c), c.start, c.end + GRACE_SECONDS, value

        family("ai_agent_call_quality_score", (life(c, lambda t, c=c: c.score) for c in all_calls))
        family("ai_agent_call_quality_band", (life(c, lambda t, c=c: c.band.level) for c in all_calls))
        family(
            "ai_agent_call_quality_penalty",
            (
                (f'{labels(c)},factor="{f}"', c.start, c.end + GRACE_SECONDS, lambda t, p=p: p)
                for c in all_calls
                for f, p in zip(FACTORS, c.penalties, strict=True)
            ),
        )
        family(
            "ai_agent_call_running_cost_usd",
            (life(c, lambda t, c=c: round(c.cost * min(1.0, (t - c.start) / CALL_SECONDS), 4)) for c in all_calls),
        )
        published = published_final_records(all_calls, window_end)
        final = [c for c in all_calls if c.call_id in published]
        family(
            "ai_agent_call_final_quality_score",
            (
                (f'{labels(c)},band="{c.band.name}",factor="{main_factor(c)}"', published[c.call_id], c.score)
                for c in final
            ),
        )
        family("ai_agent_call_final_cost_usd", ((labels(c), published[c.call_id], c.cost) for c in final))
        out.write("# EOF\n")
    return samples


def backfill(openmetrics: Path, data: Path) -> float:
    began = time.monotonic()
    subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(openmetrics), str(data)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.monotonic() - began


def start_prometheus(workdir: Path, data: Path):
    port = free_port()
    config = workdir / "prometheus.yml"
    config.write_text(yaml.safe_dump({"global": {"scrape_interval": "15s"}, "scrape_configs": []}))
    argv = [
        "prometheus",
        f"--config.file={config}",
        f"--storage.tsdb.path={data}",
        "--storage.tsdb.retention.time=30d",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    return local_service("prometheus", argv, port, "/-/ready", workdir).start(timeout=300)


@dataclass(frozen=True)
class Measured:
    label: str
    samples: int
    seconds: float
    rows: int
    error: str | None = None


def run_query(url: str, expr: str, at: float, label: str) -> Measured:
    times, body = [], {}
    for _ in range(REPEATS):
        began = time.monotonic()
        body = requests.post(
            f"{url}/api/v1/query", data={"query": expr, "time": at, "stats": "all"}, timeout=300
        ).json()
        times.append(time.monotonic() - began)
        if body.get("status") != "success":
            return Measured(label, 0, times[-1], 0, body.get("error", "error"))
    samples = int(body["data"]["stats"]["samples"]["totalQueryableSamples"])
    return Measured(label, samples, statistics.median(times), len(body["data"]["result"]))


def baseline_boards() -> dict[str, dict]:
    boards = {}
    for uid in TABLE_BOARDS + ("voice-call-detail",):
        text = subprocess.run(
            ["git", "show", f"{BASELINE}:grafana/dashboards/{uid}.json"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        boards[uid] = json.loads(text)
    return boards


def drilldown_queries(boards: dict[str, dict], range_seconds: int, call_id: str) -> list[tuple[str, str]]:
    """(label, expression as Grafana sends it) of every drill-down table's queries and Call Detail's first stats."""
    macros = {"$__range": f"{range_seconds}s", "$__rate_interval": "1m", "$__interval": "15s"}
    chosen = {"provider": ".*", "tenant": ".*", "agent": ".*", "call_id": call_id}
    out = []
    for uid in TABLE_BOARDS:
        table = drill_down_table(boards[uid])
        for target in table["targets"]:
            out.append((f"{uid} / {table['title']} / {target['refId']}", substitute(target["expr"], chosen, macros)))
    for title in CALL_DETAIL:
        for target in panel_by_title(boards["voice-call-detail"], title)["targets"]:
            out.append((f"voice-call-detail / {title}", substitute(target["expr"], chosen, macros)))
    return out


def measure(url: str, boards: dict[str, dict], range_seconds: int, call_id: str, at: float) -> list[Measured]:
    return [run_query(url, expr, at, label) for label, expr in drilldown_queries(boards, range_seconds, call_id)]


def report(name: str, figures: list[Measured], call_count: int) -> None:
    print(f"\n{name}")
    print(f"  {'query':<66} {'samples':>11} {'per call':>9} {'seconds':>8} {'rows':>5}")
    for m in figures:
        if m.error:
            print(f"  {m.label:<66} failed after {m.seconds:.2f} s: {m.error}")
            continue
        print(f"  {m.label:<66} {m.samples:>11,} {m.samples / call_count:>9.1f} {m.seconds:>8.3f} {m.rows:>5}")
    tables = [m for m in figures if not m.label.startswith("voice-call-detail")]
    for uid in TABLE_BOARDS:
        mine = [m for m in tables if m.label.startswith(uid)]
        print(
            f"  table {uid}: {sum(m.samples for m in mine):,} samples, {sum(m.seconds for m in mine):.2f} s "
            f"(slowest query {max(m.seconds for m in mine):.2f} s, most samples {max(m.samples for m in mine):,})"
        )


def rss_mib(url: str) -> float:
    for line in requests.get(f"{url}/metrics", timeout=10).text.splitlines():
        if line.startswith("process_resident_memory_bytes "):
            return float(line.split()[1]) / 2**20
    return float("nan")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=100_000)
    p.add_argument("--hours", type=float, default=6.0)
    p.add_argument("--passes", default="baseline,current", help="baseline, current, or both (comma-separated)")
    args = p.parse_args(argv)
    passes = args.passes.split(",")
    window_end = float(int(time.time()) - 600)
    range_seconds = int(args.hours * 3600)
    all_calls = calls(args.calls, window_end, args.hours)
    print(
        f"{args.calls:,} calls over {args.hours:g} h ({args.calls / (args.hours * 60):,.0f} calls/min), "
        f"{CALL_SECONDS} s each + {GRACE_SECONDS} s grace, scraped every {SCRAPE_SECONDS} s; "
        f"final records: {DEFAULT_RANKED} worst per provider, costliest per tenant of the last {FINAL_SECONDS:g} s"
    )
    with tempfile.TemporaryDirectory(prefix="bench-drilldown-") as tmp:
        workdir = Path(tmp)
        openmetrics, data = workdir / "calls.om.txt", workdir / "data"
        began = time.monotonic()
        samples = write_openmetrics(openmetrics, all_calls, window_end)
        print(f"wrote {samples:,} samples in {time.monotonic() - began:.1f} s")
        print(f"backfilled with promtool in {backfill(openmetrics, data):.1f} s")
        openmetrics.unlink()
        prometheus = start_prometheus(workdir, data)
        try:
            call_id = all_calls[len(all_calls) // 2].call_id
            if "baseline" in passes:
                report(
                    f"Before: the queries of {BASELINE}",
                    measure(prometheus.url, baseline_boards(), range_seconds, call_id, window_end),
                    args.calls,
                )
            if "current" in passes:
                report(
                    "After: the generated dashboards' queries",
                    measure(prometheus.url, build_all(), range_seconds, call_id, window_end),
                    args.calls,
                )
            print(f"\nPrometheus resident memory after both passes: {rss_mib(prometheus.url):.0f} MiB")
        finally:
            prometheus.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
