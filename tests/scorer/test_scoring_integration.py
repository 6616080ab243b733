"""The scorer against a real Prometheus fed by the real exporter and the simulator."""

import pytest

from tests.harness import query, wait_for
from voice_monitoring.exporter.simulator import SCENARIOS, Simulator
from voice_monitoring.scorer.inputs import TURN_RESPONSE_P95, TURNS, UNDERFLOWS
from voice_monitoring.scorer.model import EXCELLENT, CallInputs, gate_band, score_band
from voice_monitoring.shared import catalogue

pytestmark = pytest.mark.binaries

SPEED = 10.0
FINAL_COUNT = catalogue.metric("ai_agent_call_quality_final_score").name + "_count"


def scored_when_final(stack, call_ids, timeout=60.0) -> dict[str, dict]:
    """Each call's /calls answer once the scorer has seen it end with a score."""

    def all_final():
        found = {c: stack.call(c) for c in call_ids}
        if all(f is not None and f["ended"] and f["score"] is not None for f in found.values()):
            return found
        return None

    return wait_for(all_final, timeout, interval=0.5, what=f"final scores of {sorted(call_ids)}")


def final_count(stack) -> float:
    return sum(s.value for s in stack.samples(FINAL_COUNT))


def test_validation_matrix_lands_in_its_expected_bands(stack):
    before = final_count(stack)
    expected = Simulator(stack.exporter.url, seed=7, speed=SPEED).play_matrix()
    assert len(expected) == 8
    results = scored_when_final(stack, expected)
    for call_id, (kind, minimum) in expected.items():
        r = results[call_id]
        assert r["score"] > minimum, f"{kind}: {r}"
        # The band a score above the minimum earns, unless a gate (p95, underflows) bars it.
        p95 = query(stack.prometheus.url, f'{TURN_RESPONSE_P95}{{call_id="{call_id}"}}')
        underflows = query(stack.prometheus.url, f'{UNDERFLOWS}{{call_id="{call_id}"}}')
        gates = gate_band(
            CallInputs(
                turns=r["inputs"][TURNS],
                turn_response_p95_seconds=float(p95[0]["value"][1]),
                underflows=float(underflows[0]["value"][1]),
            )
        )
        # The score lies in its band, capped inside the best band the gates (p95, underflows) allow.
        assert r["band"] == score_band(r["score"]) == min(score_band(r["uncapped_score"]), gates), f"{kind}: {r}"
        assert r["band"] >= min(score_band(minimum + 0.01), gates), f"{kind}: {r}"
        assert r["score"] == pytest.approx(r["uncapped_score"] - r["gate_points"], abs=0.01)
        assert r["emodel"] is not None and 4.0 < r["emodel"]["mos"] <= 4.5
    simple = [results[c] for c, (kind, _) in expected.items() if kind == "simple_qa"]
    assert any(r["band"] == EXCELLENT for r in simple), simple
    # Each ended call is observed once in the final-score histogram, and only once.
    wait_for(lambda: final_count(stack) - before == len(expected), 10, what="final scores observed")
    wait_for(lambda: stack.health()["last_success"] > max(r["updated_at"] for r in results.values()) + 2, 10)
    assert final_count(stack) - before == len(expected)


# Each fault and the factor its affected calls should pay for.
FAULT_FACTORS = {
    "latency_spike": "turn_latency",
    "underflow_storm": "underflows",
    "codec_mismatch": "codec_alignment",
    "provider_outage": "turn_latency",
}


@pytest.mark.parametrize("scenario", sorted(FAULT_FACTORS))
def test_a_fault_costs_the_affected_calls_points_on_its_factor(stack, scenario):
    factor = FAULT_FACTORS[scenario]
    assert scenario in SCENARIOS
    sim = Simulator(stack.exporter.url, seed=11, speed=SPEED)
    # An outage ends half the affected calls at each turn, so few reach the three turns a score needs.
    enough = 1 if scenario == "provider_outage" else 2
    affected = sim.play_scenario(scenario, calls=12 if scenario == "provider_outage" else 8, duration=10)
    assert affected, "the scenario touched no call"
    played = stack_calls(stack, sim)
    healthy = played - affected

    def scored(ids):
        found = {c: stack.call(c) for c in ids}
        return {c: f for c, f in found.items() if f is not None and f["score"] is not None}

    hit = wait_for(
        lambda: scored(affected) if len(scored(affected)) >= enough else None,
        30,
        what=f"scores of calls hit by {scenario}",
    )
    fine = scored(healthy)
    assert fine, "no unaffected call was scored to compare with"
    worst_healthy = max(f["factors"][factor]["penalty"] for f in fine.values())
    for call_id, f in hit.items():
        assert f["factors"][factor]["penalty"] >= 5.0, f"{scenario} {call_id}: {f['factors']}"
        assert f["factors"][factor]["penalty"] > worst_healthy, f"{scenario} {call_id}"
    if scenario == "provider_outage":
        short = [c for c in affected if (f := stack.call(c)) is not None and f["inputs"][TURNS] < 3]
        assert short and all(stack.call(c)["insufficient_data"] and stack.call(c)["score"] is None for c in short)
    mean_hit = sum(f["score"] for f in hit.values()) / len(hit)
    mean_fine = sum(f["score"] for f in fine.values()) / len(fine)
    assert mean_hit < mean_fine - 5


def stack_calls(stack, sim) -> set[str]:
    """Call ids of ``sim``'s run that Prometheus knows."""
    played = set(sim.played)
    return {r["metric"]["call_id"] for r in query(stack.prometheus.url, TURNS) if r["metric"]["call_id"] in played}
