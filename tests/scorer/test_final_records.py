"""The scorer's final record of each ended call: what it carries, its bound, and its expiry."""

import pytest

from tests.harness import post_events, query, wait_for
from tests.scorer.scoring_stack import call_events, start_stack, stop_stack
from voice_monitoring.scorer.final_records import FinalRecord, ranked
from voice_monitoring.scorer.model import FACTORS
from voice_monitoring.shared import catalogue, quality_bands

pytestmark = pytest.mark.binaries

FINAL_SCORE = catalogue.metric("ai_agent_call_final_quality_score").name
FINAL_COST = catalogue.metric("ai_agent_call_final_cost_usd").name
DROPPED = catalogue.metric("ai_agent_scorer_final_records_dropped_total").name
RUNNING_COST = catalogue.metric("ai_agent_call_running_cost_usd").name
TTL_SECONDS = 8  # long enough for the three calls to end one after another


@pytest.fixture
def stack(tmp_path):
    s = start_stack(
        tmp_path,
        exporter_flags=("--grace-seconds", "60"),
        scorer_flags=("--final-record-seconds", str(TTL_SECONDS), "--final-records-max", "2"),
    )
    try:
        yield s
    finally:
        stop_stack(s)


def test_final_records_carry_the_final_assessment_are_bounded_and_expire(stack):
    s = stack
    calls = {"slow-1": 3.0, "fast-1": 0.4, "fast-2": 0.5}
    events = [e for call_id, latency in calls.items() for e in call_events(call_id, 4, latency)]
    assert post_events(s.exporter.url, events).status_code == 200
    wait_for(lambda: all(s.call(c) for c in calls), 20, what="every call scored")
    assert not s.samples(FINAL_SCORE), "a live call has no final record"

    for call_id in calls:  # one after another, so that the oldest is known
        assert post_events(s.exporter.url, [call_events(call_id, 0, end=True)[-1]]).status_code == 200
        wait_for(lambda c=call_id: s.call(c)["ended"], 10, what=f"{call_id} seen ended")
    records = wait_for(lambda: s.samples(FINAL_SCORE) if len(s.samples(FINAL_SCORE)) == 2 else None, 10, what="2")
    # Three ended calls, room for two: the first to end was dropped, and counted.
    assert {r.labels["call_id"] for r in records} == {"fast-1", "fast-2"}
    assert s.samples(DROPPED)[0].value == 1.0
    for record in records:
        live = s.call(record.labels["call_id"])
        assert record.value == pytest.approx(live["score"], abs=1e-3)
        assert record.labels["band"] == quality_bands.ALL[live["band"]].name
        main = max(FACTORS, key=lambda f: live["factors"][f]["penalty"])
        assert record.labels["factor"] == main
    costs = {x.labels["call_id"]: x.value for x in s.samples(FINAL_COST)}
    exporter_costs = {r["metric"]["call_id"]: float(r["value"][1]) for r in query(s.prometheus.url, RUNNING_COST)}
    assert costs == {c: pytest.approx(exporter_costs[c], abs=1e-6) for c in ("fast-1", "fast-2")}

    # The records expire after their time, while the exporter still publishes the calls' series.
    wait_for(lambda: not s.samples(FINAL_SCORE) and not s.samples(FINAL_COST), TTL_SECONDS + 6, what="expiry")
    assert s.call("fast-2") is not None


def _record(call_id: str, provider: str, tenant: str, score: float, cost: float) -> FinalRecord:
    return FinalRecord(call_id, provider, tenant, score, "Good", "turn_latency", cost, 0.0)


def test_the_index_holds_the_worst_of_each_provider_and_the_costliest_of_each_tenant():
    records = [
        _record("bad-a", "a", "t1", 20.0, 0.1),
        _record("ok-a", "a", "t1", 80.0, 0.2),
        _record("dear-t1", "a", "t1", 90.0, 5.0),
        _record("bad-b", "b", "t2", 50.0, 0.1),
        _record("dear-t2", "b", "t2", 95.0, 0.3),
    ]
    assert {r.call_id for r in ranked(records, 1)} == {"bad-a", "bad-b", "dear-t1", "dear-t2"}
    assert {r.call_id for r in ranked(records, 2)} == {r.call_id for r in records}
    unscored = FinalRecord("short", "a", "t1", None, "", "", 9.0, 0.0)
    assert {r.call_id for r in ranked([*records, unscored], 1)} == {"bad-a", "bad-b", "short", "dear-t2"}
