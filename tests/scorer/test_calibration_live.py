"""Calibration end to end: the simulator rates calls after they end, negatively mostly where the fault it injected
touched them, and the scorer, reading a real Prometheus scraping a real exporter, publishes the AUC."""

import math
import threading
import time

import pytest

from tests.harness import wait_for
from tests.scorer.scoring_stack import start_stack, stop_stack
from voice_monitoring.exporter.simulator import Simulator
from voice_monitoring.scorer import replay
from voice_monitoring.scorer.promql import PrometheusClient
from voice_monitoring.scorer.scoring_parameters import DEFAULTS, from_mapping
from voice_monitoring.shared import catalogue

pytestmark = pytest.mark.binaries

AUC = catalogue.metric("ai_agent_quality_calibration_auc").name
PAIRS = catalogue.metric("ai_agent_quality_calibration_pairs").name
NEGATIVES = catalogue.metric("ai_agent_quality_calibration_negative_pairs").name
MEAN_RATING = catalogue.metric("ai_agent_quality_calibration_mean_rating").name
MIN_SAMPLES = 30


def by_provider(stack, name: str) -> dict[str, float]:
    return {s.labels["provider"]: s.value for s in stack.samples(name)}


def test_the_published_auc_separates_the_calls_a_fault_touched_and_is_chance_where_feedback_is_noise(tmp_path):
    stack = start_stack(tmp_path, scorer_flags=("--calibration-min-samples", str(MIN_SAMPLES)))
    try:
        # The LLM behind deepgram answers 6x slower on 40% of deepgram's calls; openai_realtime has no fault, so
        # its ratings are noise alone.  20x: a minute of calls plays in 3 s; 80 calls at once give about 200 rated
        # calls per provider, so the AUC (about 0.86-0.96 over runs) stays clear of 0.8 by several standard errors.
        sim = Simulator(stack.exporter.url, seed=5, speed=20, feedback="faults", fault_share=0.4)
        player = threading.Thread(target=sim.run, args=(22, 80, "latency_spike"))
        player.start()
        player.join(60)
        assert not player.is_alive() and not sim.errors, sim.errors[:3]
        assert {s.labels["provider"] for s in stack.samples(AUC)} <= {"deepgram", "openai_realtime"}

        def settled():
            pairs = by_provider(stack, PAIRS)
            time.sleep(2)  # the last ratings have arrived when two reads 2 s apart agree
            again = by_provider(stack, PAIRS)
            return again if again == pairs and len(again) == 2 else None

        pairs = wait_for(settled, 30, interval=0.5, what="the calibration pairs to settle")
        auc, negatives = by_provider(stack, AUC), by_provider(stack, NEGATIVES)
        print(f"pairs {pairs}, negatives {negatives}, AUC {auc}, rated {len(sim.rated)}, felt {len(sim.felt)}")
        assert pairs["deepgram"] >= MIN_SAMPLES and pairs["openai_realtime"] >= MIN_SAMPLES
        assert auc["deepgram"] >= 0.8
        # Ratings independent of the score: chance, within three standard errors of an AUC of 0.5 (Hanley and McNeil),
        # which with the ten or so negative ratings a run gets is wide.
        if "openai_realtime" in auc:
            negative, other = negatives["openai_realtime"], pairs["openai_realtime"] - negatives["openai_realtime"]
            standard_error = math.sqrt((negative + other + 1) / (12 * negative * other))
            assert abs(auc["openai_realtime"] - 0.5) <= 3 * standard_error
        means = {(s.labels["provider"], s.labels["band"]): s.value for s in stack.samples(MEAN_RATING)}
        assert means[("deepgram", "excellent")] > means.get(("deepgram", "fair"), 0.0)

        # The recorded feedback, scored again: with the parameters the scorer runs with, the figures it published;
        # with a candidate blind to turn latency (the fault's only symptom), a score that no longer agrees.
        recorded = replay.read(PrometheusClient(stack.prometheus.url, 30), "voice_exporter", "10m")
        now = replay.calibrate(recorded, DEFAULTS, MIN_SAMPLES)
        assert now["deepgram"].pairs == pytest.approx(pairs["deepgram"], abs=3)
        assert now["deepgram"].auc == pytest.approx(auc["deepgram"], abs=0.05)
        blind = from_mapping(
            {
                "penalties": {"turn_latency": {"start": 9, "full": 10, "max": 0}},
                "gates": {"excellent_p95_seconds": 9, "good_p95_seconds": 9, "fair_p95_seconds": 9},
            }
        )
        candidate = replay.calibrate(recorded, blind, MIN_SAMPLES)
        print(f"replayed AUC now {now['deepgram'].auc}, blind to latency {candidate['deepgram'].auc}")
        assert candidate["deepgram"].auc < now["deepgram"].auc - 0.2
    finally:
        stop_stack(stack)
