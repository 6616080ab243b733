"""Agent versions compared, its queries run on a real Prometheus (with the agent recording rules) scraping a real
exporter and a real scorer: two versions of one agent, the slower and costlier one also failing a call, each column
says so version by version."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from grafana.builder import agents, build_all, coverage
from tests.dashboards.board_walk import substitute
from tests.dashboards.panel_coverage import MACROS
from tests.harness import (
    post_events,
    prometheus_config,
    query,
    start_exporter,
    start_prometheus,
    start_scorer,
    wait_for,
)

pytestmark = pytest.mark.binaries

RULES = Path(__file__).resolve().parents[2] / "prometheus" / "rules" / "agents.yml"
# version: (turn latency in seconds, cost of each call in USD, end reasons of its calls): the calls of each version
# end twice, so that every counter the panel reads exists before the second time (a counter's first sample is no
# increase); the panel must show what the second time added.
VERSIONS = {"v1": (0.5, 0.10, ("completed", "completed")), "v2": (1.6, 0.30, ("completed", "error"))}
CALL_SECONDS = 60.0


def panel_columns() -> dict[str, str]:
    panel = coverage.voice_panels(build_all())[(coverage.CALL_QUALITY, "Agent versions compared")]
    return {target["legendFormat"]: target["expr"] for target in panel["targets"]}


def started_with_turns(call_id: str, version: str, now: float) -> list[dict]:
    latency, usd, _ = VERSIONS[version]
    envelope = {"ts": now, "call_id": call_id}
    events = [
        {"type": "call.started", **envelope, "tenant": "acme", "provider": "deepgram", "pipeline": "cascade"}
        | {"agent": "support", "agent_version": version}
    ]
    events += [{"type": "turn", **envelope, "attrs": {"latency_seconds": latency}} for _ in range(4)]
    return events + [{"type": "cost", **envelope, "attrs": {"service": "llm", "usd": usd}}]


def ended(call_id: str, reason: str, now: float) -> dict:
    return {
        "type": "call.ended",
        "ts": now,
        "call_id": call_id,
        "attrs": {"duration_seconds": CALL_SECONDS, "reason": reason},
    }


def test_agent_versions_compared_shows_each_versions_latency_failures_score_and_cost(tmp_path):
    columns = panel_columns()
    assert list(columns) == list(agents.version_queries())
    now = time.time()
    calls = {f"{version}-{batch}-{n}": version for version in VERSIONS for batch in (1, 2) for n in (0, 1)}
    with start_exporter(tmp_path) as exporter:
        config = prometheus_config({"voice_exporter": [exporter.url.removeprefix("http://")]}, [str(RULES)])
        with (
            start_prometheus(tmp_path, config) as prometheus,
            start_scorer(tmp_path, prometheus.url, "--interval", "1") as scorer,
        ):
            config["scrape_configs"].append(
                {"job_name": "voice_scorer", "static_configs": [{"targets": [scorer.url.removeprefix("http://")]}]}
            )
            with start_prometheus(tmp_path, config) as prom:
                events = [e for call_id, version in calls.items() for e in started_with_turns(call_id, version, now)]
                post_events(exporter.url, events).raise_for_status()

                def per_version(title: str) -> dict[str, float]:
                    result = query(prom.url, substitute(columns[title], {"agent": ".*"}, MACROS))
                    return {s["metric"]["version"]: float(s["value"][1]) for s in result}

                def end(batch: int) -> None:
                    ends = [
                        ended(f"{v}-{batch}-{n}", reason, now)
                        for v in VERSIONS
                        for n, reason in enumerate(VERSIONS[v][2])
                    ]
                    post_events(exporter.url, ends).raise_for_status()

                wait_for(lambda: len(per_version("Mean score")) == 2, 30, what="both versions' calls scored")
                end(1)
                wait_for(lambda: len(per_version("Calls ended")) == 2, 20, what="the first calls' ends scraped")
                time.sleep(2)
                end(2)
                wait_for(lambda: min(per_version("Calls ended").values()) > 1.5, 20, what="the measured calls")
                time.sleep(2)
                turn_p95, failures = per_version("Turn p95 (s)"), per_version("Failure ratio")
                score, cost = per_version("Mean score"), per_version("Cost per minute (USD)")
    assert turn_p95 == pytest.approx({"support v1": 0.5, "support v2": 1.6})
    assert failures["support v1"] == 0
    assert failures["support v2"] == pytest.approx(0.5)
    assert 0 < score["support v2"] < score["support v1"] <= 100
    assert cost == pytest.approx({"support v1": 0.10, "support v2": 0.30}, rel=0.05)
