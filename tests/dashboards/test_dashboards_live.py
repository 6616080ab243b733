"""Every panel's every query returns data from a real Prometheus scraping the exporter and the scorer while the
simulator plays traffic (with a provider outage in the middle, so failure panels have something to show)."""

from __future__ import annotations

import threading
import time

import pytest

from grafana.builder import build_all, coverage
from tests.dashboards.board_walk import has_data, substitute
from tests.dashboards.panel_coverage import MACROS, RANGE_VARIABLES, assert_panel_coverage, monitoring_stack
from tests.harness import query, wait_for

pytestmark = pytest.mark.binaries

SPEED = 10.0
TRAFFIC_SECONDS = 40
# Faults played in turn (seconds into the traffic): an STT outage for the failure panels, then an underflow storm,
# which is what makes the engine fall back from streaming.
FAULTS = ((6, "provider_outage"), (18, "underflow_storm"), (28, None))

# (dashboard uid, panel title) -> why it may legitimately return nothing in this scenario: the voice panels the
# simulator cannot fill (declared in the coverage source), and panels of the stack's own health.
ALLOWED_EMPTY = {
    **coverage.gaps("simulator"),
    (
        "voice-system-overview",
        "Notification failures",
    ): "this test runs no Alertmanager for Prometheus to scrape",
    (
        "voice-system-overview",
        "Firing alerts",
    ): "every alert but the Watchdog waits its `for` duration, longer than this test plays traffic",
    **dict.fromkeys(
        [
            ("voice-system-overview", "Provider endpoints"),
            ("voice-system-overview", "Probe time"),
            ("voice-system-overview", "Certificate expiry"),
            ("voice-provider-performance", "Probe success"),
            ("voice-provider-performance", "Probe duration"),
        ],
        "this test runs no blackbox_exporter probing provider endpoints",
    ),
    **dict.fromkeys(
        [
            ("voice-system-overview", "Calls per hour by tenant, this week against last"),
            ("voice-system-overview", "Spend per hour by tenant, this week against last"),
            ("voice-cost-tracking", "Spend per hour by tenant, this week against last"),
        ],
        "the line of the week before needs a week of history",
    ),
}


def _substitute(expr: str, variables: dict[str, str]) -> str:
    return substitute(expr, variables, MACROS)


def _panels():
    for uid, board in build_all().items():
        for panel in board["panels"]:
            if panel.get("targets"):
                yield uid, panel


@pytest.fixture(scope="module")
def live_stack(tmp_path_factory):
    from voice_monitoring.exporter.simulator import Simulator

    with monitoring_stack(tmp_path_factory.mktemp("dashboards-live")) as stack:
        sim = Simulator(stack.exporter.url, seed=11, speed=SPEED)
        player = threading.Thread(target=sim.run, args=(TRAFFIC_SECONDS, 12), daemon=True)
        started = time.monotonic()
        player.start()
        for at, fault in FAULTS:
            time.sleep(max(0.0, at - (time.monotonic() - started)))
            sim.set_fault(fault)
        wait_for(
            lambda: query(stack.prometheus.url, "ai_agent_call_quality_final_score_count"),
            60,
            interval=1,
            what="a final quality score",
        )
        time.sleep(max(0.0, TRAFFIC_SECONDS - 5 - (time.monotonic() - started)))
        yield stack.prometheus, stack.scorer, sim
        sim.stop()
        player.join(timeout=20)
        assert not sim.errors, sim.errors[:3]


def _richest_call(prometheus_url: str) -> str:
    """$call_id: the call with the most per-call series, as an operator would pick a call with a story to tell."""
    richest = query(prometheus_url, 'topk(1, count by (call_id) ({__name__=~"ai_agent_call_.+", call_id!=""}))')
    assert richest, "no live call to select in $call_id"
    return richest[0]["metric"]["call_id"]


def test_every_panel_query_returns_data(live_stack):
    prometheus, _, _ = live_stack
    variables = {**RANGE_VARIABLES, "call_id": _richest_call(prometheus.url)}

    empty, failed, checked = [], [], 0
    for uid, panel in _panels():
        key = (uid, panel["title"])
        for target in panel["targets"]:
            expr = _substitute(target["expr"], variables)
            try:
                result = query(prometheus.url, expr)
            except AssertionError as exc:
                failed.append(f"{uid} / {panel['title']}: {exc}")
                continue
            checked += 1
            if not has_data(result) and key not in ALLOWED_EMPTY:
                empty.append(f"{uid} / {panel['title']} [{target['refId']}]: {expr}")
    assert not failed, "\n".join(failed)
    assert not empty, "panels without data:\n" + "\n".join(empty)
    assert checked == sum(len(panel["targets"]) for _, panel in _panels())


def test_the_simulator_fills_every_voice_panel_but_its_declared_gaps(live_stack):
    prometheus, _, _ = live_stack
    assert_panel_coverage("simulator", prometheus.url, _richest_call(prometheus.url))


def test_allowed_empty_panels_exist():
    panels = {(uid, panel["title"]) for uid, panel in _panels()}
    assert set(ALLOWED_EMPTY) <= panels
