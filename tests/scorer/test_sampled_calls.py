"""With --per-call-sample-ratio the scorer scores exactly the calls whose series the exporter exposes: the
sampled calls and the calls that breached a gate; the others have no score.  The fleet's final-score
distribution holds the sampled calls only, so the calls exposed for going badly do not bias it."""

import time

import pytest

from tests.exporter.full_call import call_end, full_call
from tests.harness import post_events, wait_for
from tests.scorer.scoring_stack import start_stack, stop_stack
from voice_monitoring.exporter import sampling
from voice_monitoring.shared import catalogue

pytestmark = pytest.mark.binaries

RATIO = 0.5
FINAL_COUNT = catalogue.metric("ai_agent_call_quality_final_score").name + "_count"


def test_sampled_and_gate_breaching_calls_are_scored_and_only_sampled_calls_reach_the_distribution(tmp_path):
    ids = [f"s-{i}" for i in range(40)]
    sampled = [c for c in ids if sampling.in_sample(c, RATIO)][:4]
    outside = [c for c in ids if not sampling.in_sample(c, RATIO)][:6]
    breaching = outside[:2]
    withheld = outside[2:]
    stack = start_stack(tmp_path, exporter_flags=("--per-call-sample-ratio", str(RATIO)))
    try:
        now = time.time()
        events = []
        for call_id in sampled + outside:
            turn = sampling.PROMOTE_P95_SECONDS + 1.0 if call_id in breaching else 0.7
            events += full_call(call_id, now, turn_seconds=turn)
        response = post_events(stack.exporter.url, events)
        assert response.status_code == 200, response.text
        scored = sampled + breaching

        def all_scored(ended=False):
            found = {c: stack.call(c) for c in scored}
            done = all(r is not None and r["score"] is not None and r["ended"] >= ended for r in found.values())
            return found if done else None

        results = wait_for(all_scored, 60, interval=0.5, what=f"scores of {scored}")
        for call_id in breaching:
            assert results[call_id]["score"] < results[sampled[0]]["score"], results
        response = post_events(stack.exporter.url, [call_end(c, time.time()) for c in sampled + outside])
        assert response.status_code == 200, response.text
        wait_for(lambda: all_scored(ended=True), 60, interval=0.5, what="the calls ended")
        cycle = stack.health()["last_success"]
        wait_for(lambda: stack.health()["last_success"] > cycle + 1, 20, what="two more scoring cycles")
        assert {c: stack.call(c) for c in withheld} == dict.fromkeys(withheld)
        assert sum(s.value for s in stack.samples(FINAL_COUNT)) == len(sampled)
    finally:
        stop_stack(stack)
