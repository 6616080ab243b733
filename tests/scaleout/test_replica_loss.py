"""Prometheus replica loss: the pair writes into VictoriaMetrics, one replica is killed, and the long-term store
shows neither a gap longer than two scrape intervals nor a duplicate series."""

from __future__ import annotations

import json
import time

import pytest
import requests

from tests.harness import query, start_exporter, wait_for
from tests.scaleout.topology import SCRAPE_INTERVAL, prometheus_pair, samples_written, start_victoria_metrics

pytestmark = pytest.mark.binaries

BEFORE_SECONDS = 8
AFTER_SECONDS = 10


def export(vm_url: str, selector: str, start: float, end: float) -> list[dict]:
    """Raw samples of every series matching ``selector`` (after VictoriaMetrics' deduplication)."""
    response = requests.get(
        f"{vm_url}/api/v1/export", params={"match[]": selector, "start": start, "end": end}, timeout=10
    )
    response.raise_for_status()
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


def test_killing_one_replica_leaves_no_gap_and_no_duplicate_in_long_term_storage(tmp_path):
    with (
        start_victoria_metrics(tmp_path) as vm,
        start_exporter(tmp_path) as exporter,
        prometheus_pair(
            tmp_path, {"voice_exporter": [exporter.url.removeprefix("http://")]}, f"{vm.url}/api/v1/write"
        ) as pair,
    ):
        selector = 'up{job="voice_exporter"}'
        wait_for(lambda: query(vm.url, selector), 30, interval=0.5, what="the pair's samples in VictoriaMetrics")
        started = time.time()
        for replica in pair.values():
            wait_for(lambda r=replica: samples_written(r.url) > 0, 20, what="both replicas writing")
        time.sleep(BEFORE_SECONDS)
        killed_at = time.time()
        pair["a"].process.kill()
        pair["a"].process.wait(10)
        time.sleep(AFTER_SECONDS)
        end = time.time() - 2 * SCRAPE_INTERVAL  # what replica b has had time to write
        wait_for(lambda: query(vm.url, f"count_over_time({selector}[2s])", at=end), 10, what="replica b's samples")

        series = export(vm.url, selector, started, end)
        assert len(series) == 1, f"expected one series, VictoriaMetrics holds {[s['metric'] for s in series]}"
        assert "replica" not in series[0]["metric"]
        stamps = sorted(t / 1000 for t in series[0]["timestamps"])
        gaps = [b - a for a, b in zip([started, *stamps], [*stamps, end], strict=True)]
        longest = max(gaps)
        print(
            f"\nreplica loss: {len(stamps)} samples over {end - started:.1f}s, longest gap {longest:.2f}s "
            f"(scrape interval {SCRAPE_INTERVAL:g}s), killed at +{killed_at - started:.1f}s"
        )
        assert longest <= 2 * SCRAPE_INTERVAL, f"a gap of {longest:.2f}s in {stamps}"
        # Two replicas scrape every interval; after deduplication one sample per interval remains.
        assert len(stamps) <= (end - started) / SCRAPE_INTERVAL + 2, "samples of both replicas were kept"
        assert all(value == 1 for value in series[0]["values"])
