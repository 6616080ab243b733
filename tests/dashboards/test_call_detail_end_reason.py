"""Call Detail's End reason panel, its query run on a real Prometheus scraping a real exporter: an ended call shows
the raw reason its engine or platform reported, a live call shows that it is in progress."""

from __future__ import annotations

import time

import pytest

from grafana.builder import build_all, coverage
from tests.dashboards.board_walk import substitute
from tests.dashboards.panel_coverage import MACROS
from tests.harness import post_events, prometheus_config, query, start_exporter, start_prometheus, wait_for

pytestmark = pytest.mark.binaries

RAW = "pipeline-error-openai-llm-failed"


def panel_expr(title: str) -> str:
    panel = coverage.voice_panels(build_all())[(coverage.CALL_DETAIL, title)]
    (target,) = panel["targets"]
    return target["expr"]


def test_the_end_reason_panel_shows_the_raw_reason_of_an_ended_call_and_in_progress_for_a_live_one(tmp_path):
    now = time.time()
    calls = [
        {"type": "call.started", "ts": now, "call_id": call_id, "tenant": "acme", "provider": "vapi"}
        for call_id in ("ended-call", "live-call")
    ]
    end = {
        "type": "call.ended",
        "ts": now,
        "call_id": "ended-call",
        "attrs": {"duration_seconds": 42.0, "reason": RAW},
    }
    expr = panel_expr("End reason")
    with start_exporter(tmp_path) as exporter:
        target = exporter.url.removeprefix("http://")
        with start_prometheus(tmp_path, prometheus_config({"voice_exporter": [target]})) as prometheus:
            assert post_events(exporter.url, calls + [end]).json()["accepted"] == 3

            def shown(call_id: str) -> list[str]:
                result = query(prometheus.url, substitute(expr, {"call_id": call_id}, MACROS))
                return [series["metric"].get("reason") for series in result]

            wait_for(lambda: shown("ended-call") and shown("live-call"), 20, what="both calls scraped")
            assert shown("ended-call") == [RAW]
            assert shown("live-call") == ["in progress"]
