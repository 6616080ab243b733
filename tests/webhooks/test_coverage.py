"""The voice panels a Vapi call and a Retell call fill: each platform's whole call (its live messages and its
post-call report) posted to a real exporter, scraped by a real Prometheus with the rule files and scored by the
real scorer; then every voice panel's queries are run (tests/dashboards/panel_coverage.py). Each platform gets a
stack of its own, so one platform's series never fill the other's panels."""

from __future__ import annotations

import time

import pytest
import requests

from tests.dashboards.panel_coverage import assert_panel_coverage, monitoring_stack
from tests.harness import query, wait_for
from tests.webhooks import fixtures as fx

pytestmark = pytest.mark.binaries

RETELL_KEY = "retell-coverage-key"
# How long each call is live between the platform's start message and its report: a few scrapes.
CALL_SECONDS = 3


def _post(url: str, payload: dict | bytes, headers: dict | None = None) -> None:
    body = payload if isinstance(payload, bytes) else fx.body_of(payload)
    reply = requests.post(url, data=body, headers={"Content-Type": "application/json", **(headers or {})}, timeout=10)
    assert reply.status_code == 200, reply.text


class Vapi:
    def __init__(self, exporter_url: str):
        self.url = f"{exporter_url}/v1/webhooks/vapi"

    def start(self, call_id: str) -> None:
        _post(self.url, fx.vapi_status_update(time.time(), call_id=call_id))
        for role, status in (
            ("assistant", "started"),
            ("assistant", "stopped"),
            ("user", "started"),
            ("user", "stopped"),
        ):
            _post(self.url, fx.vapi_speech_update(time.time(), role, status, call_id=call_id))
        _post(self.url, fx.vapi_user_interrupted(time.time(), call_id=call_id))

    def end(self, call_id: str, failed: bool) -> None:
        reason = "pipeline-error-openai-llm-failed" if failed else "customer-ended-call"
        _post(self.url, fx.vapi_end_of_call_report(time.time(), ended_reason=reason, call_id=call_id))


class Retell:
    def __init__(self, exporter_url: str):
        self.url = f"{exporter_url}/v1/webhooks/retell"
        self.calls = {}

    def _send(self, event: str, call: dict) -> None:
        body = fx.body_of(fx.retell_event(event, call))
        _post(self.url, body, {"X-Retell-Signature": fx.retell_signature(body, RETELL_KEY, time.time())})

    def start(self, call_id: str) -> None:
        self.calls[call_id] = fx.retell_call(time.time() + CALL_SECONDS, call_id=call_id)
        self._send("call_started", self.calls[call_id])

    def end(self, call_id: str, failed: bool) -> None:
        call = {**self.calls.pop(call_id), "disconnection_reason": "dial_failed" if failed else "user_hangup"}
        self._send("call_ended", call)
        self._send("call_analyzed", call)


def _scored_and_recorded(prometheus_url: str, call_id: str) -> None:
    """Waits for the scorer's final score of the call and for rates over two samples of the call's counters."""
    wait_for(
        lambda: query(prometheus_url, f'ai_agent_call_quality_score{{call_id="{call_id}"}}')
        and query(prometheus_url, "ai_agent_call_quality_final_score_count"),
        30,
        interval=0.5,
        what="the call's quality score",
    )
    wait_for(lambda: query(prometheus_url, "provider:ai_agent_turns:rate5m > 0"), 30, what="the recorded turn rate")
    time.sleep(2)


def _calls(platform, ended: dict[str, bool]) -> None:
    """Calls live together for a few scrapes, then each ends, failed or not."""
    for call_id in ended:
        platform.start(call_id)
    time.sleep(CALL_SECONDS)
    for call_id, failed in ended.items():
        platform.end(call_id, failed)


@pytest.mark.parametrize(
    ("integration", "platform", "call_id"), [("vapi", Vapi, fx.VAPI_CALL_ID), ("retell", Retell, fx.RETELL_CALL_ID)]
)
def test_a_platform_call_fills_every_voice_panel_but_its_declared_gaps(tmp_path, integration, platform, call_id):
    with monitoring_stack(tmp_path, exporter_env={"RETELL_API_KEY": RETELL_KEY}) as stack:
        calls = platform(stack.exporter.url)
        # Earlier calls, as a platform in service has had, one failed: the counters exist before the measured
        # call's report raises them, so rates see its increase, and the failure ratios see a second failure.
        _calls(calls, {"earlier-1": True, "earlier-2": False})
        wait_for(lambda: query(stack.prometheus.url, "ai_agent_turns_total"), 10, what="the earlier calls scraped")
        time.sleep(2)
        _calls(calls, {call_id: False, "failed": True})
        _scored_and_recorded(stack.prometheus.url, call_id)
        assert_panel_coverage(integration, stack.prometheus.url, call_id)
