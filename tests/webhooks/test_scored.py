"""A call that arrives whole in a Vapi end-of-call report gets a quality score from the real scorer."""

import time

import pytest
import requests

from tests.harness import wait_for
from tests.scorer.scoring_stack import start_stack, stop_stack
from tests.webhooks import fixtures as fx
from voice_monitoring.scorer.inputs import TURNS

pytestmark = pytest.mark.binaries


def test_a_vapi_report_is_scored_within_the_grace_period(tmp_path):
    stack = start_stack(tmp_path)
    try:
        body = fx.body_of(fx.vapi_end_of_call_report(time.time()))
        reply = requests.post(
            f"{stack.exporter.url}/v1/webhooks/vapi",
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        assert reply.status_code == 200, reply.text

        def scored():
            found = stack.call(fx.VAPI_CALL_ID)
            return found if found and found["ended"] and found["score"] is not None else None

        found = wait_for(scored, 60, interval=0.5, what="the reported call's final score")
        assert found["inputs"][TURNS] == 3
        assert 0 <= found["score"] <= 100
    finally:
        stop_stack(stack)
