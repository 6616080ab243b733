"""The calls-in-range tables read a number of samples that does not grow with the calls in the range.

Calls' per-call series and the scorer's final records (the index of the worst calls of each provider and the
costliest of each tenant, as ``scorer.final_records.ranked`` chooses them at each scrape) are backfilled with
promtool, as ``make bench`` does with 100,000 calls, into a real Prometheus, twice: with CALLS and with four times
as many in the same hour. Every drill-down table's generated query runs over the hour; Prometheus' own count of
the samples each loaded (``stats=all``) must barely grow with the calls, while a query reading every call's series
over the range grows fourfold (the baseline here, measured on the same storage). The tables must still list the
right calls.
"""

from __future__ import annotations

import time

import pytest
import requests

from grafana.builder import build_all
from grafana.builder.drilldown import ROWS
from scripts import bench_drilldown as bench
from tests.dashboards.board_walk import joined_rows

pytestmark = pytest.mark.binaries

CALLS = 2_000
HOURS = 1
# Every call's last score over the range: what the tables read before the final records.
EVERY_CALL = f"count(last_over_time(ai_agent_call_quality_score[{HOURS}h]))"


def _backfilled(tmp, calls: int):
    window_end = float(int(time.time()) - 900)
    all_calls = bench.calls(calls, window_end, HOURS)
    bench.write_openmetrics(tmp / "calls.om.txt", all_calls, window_end)
    bench.backfill(tmp / "calls.om.txt", tmp / "data")
    return bench.start_prometheus(tmp, tmp / "data"), all_calls, window_end


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    prometheus, calls, at = _backfilled(tmp_path_factory.mktemp("drilldown-small"), CALLS)
    with prometheus:
        yield prometheus.url, calls, at


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    prometheus, calls, at = _backfilled(tmp_path_factory.mktemp("drilldown-large"), 4 * CALLS)
    with prometheus:
        yield prometheus.url, calls, at


def _run(url: str, expr: str, at: float) -> dict:
    body = requests.post(f"{url}/api/v1/query", data={"query": expr, "time": at, "stats": "all"}, timeout=30).json()
    assert body["status"] == "success", body
    return body["data"]


def _samples(url: str, expr: str, at: float) -> int:
    return int(_run(url, expr, at)["stats"]["samples"]["totalQueryableSamples"])


def _queries() -> dict[str, str]:
    return {
        label: expr
        for label, expr in bench.drilldown_queries(build_all(), HOURS * 3600, "none")
        if not label.startswith("voice-call-detail")
    }


def test_no_drilldown_query_grows_with_the_calls_in_range(small, large):
    (small_url, _, small_at), (large_url, _, large_at) = small, large
    # The measure can tell: reading every call's series over the range loads four times the samples.
    assert _samples(large_url, EVERY_CALL, large_at) >= 3.5 * _samples(small_url, EVERY_CALL, small_at)
    queries = _queries()
    assert len(queries) >= 8, queries
    for label, expr in queries.items():
        before, after = _samples(small_url, expr, small_at), _samples(large_url, expr, large_at)
        assert after <= 1.5 * before, f"{label}: {before:,} samples with {CALLS:,} calls, {after:,} with four times"


def _table(url: str, queries: dict[str, str], uid: str, at: float) -> list[dict]:
    return joined_rows([_run(url, expr, at)["result"] for label, expr in queries.items() if label.startswith(uid)])


def test_the_tables_list_the_worst_and_the_costliest_calls(large):
    url, calls, at = large
    queries = _queries()
    by_id = {c.call_id: c for c in calls}

    worst = _table(url, queries, "voice-provider-performance", at)
    assert {r["call_id"] for r in worst} == {c.call_id for c in sorted(calls, key=lambda c: c.score)[:ROWS]}
    for row in worst:
        call = by_id[row["call_id"]]
        assert (row["band"], row["factor"]) == (call.band.name, bench.main_factor(call)), row
        assert (row["Value #A"], row["Value #C"]) == (pytest.approx(call.score), pytest.approx(call.cost)), row

    costliest = _table(url, queries, "voice-cost-tracking", at)
    assert {r["call_id"] for r in costliest} == {c.call_id for c in sorted(calls, key=lambda c: -c.cost)[:ROWS]}
    for row in costliest:
        call = by_id[row["call_id"]]
        assert (row["Value #A"], row["Value #B"]) == (pytest.approx(call.cost), pytest.approx(call.score)), row
