"""The calibration core: the AUC, the mean rating by band, the minimum sample, and pairing ratings with final
scores whichever comes first."""

import random

import pytest

from voice_monitoring.scorer.calibration import Calibration, Pair, auc
from voice_monitoring.scorer.model import POOR, score_band
from voice_monitoring.shared.feedback import SCALES

STARS = SCALES["stars"]


def pair(score: float, negative: bool, at: float = 0.0) -> Pair:
    return Pair(at, score, score_band(score), 0.0 if negative else 1.0, negative)


def test_auc_counts_ordered_pairs_and_ties_half():
    # 2 negatives (40, 70) and 2 others (60, 70): (60>40) wins, (60<70) loses, (70>40) wins, (70=70) half.
    pairs = [pair(40, True), pair(70, True), pair(60, False), pair(70, False)]
    assert auc(pairs) == pytest.approx(2.5 / 4)
    assert auc([pair(10, True), pair(90, False)]) == 1.0
    assert auc([pair(90, True), pair(10, False)]) == 0.0
    assert auc([pair(50, False), pair(60, False)]) is None  # no negative rating: no AUC


def play(calibration: Calibration, calls: int, rating_of, seed: int) -> None:
    """``calls`` calls with random scores, each rated on the stars scale by ``rating_of(rng, score)``."""
    rng = random.Random(seed)
    for i in range(calls):
        score = rng.uniform(20, 100)
        calibration.final(f"c{i}", "deepgram", score, score_band(score), 100.0)
        calibration.feedback([(f"c{i}", "survey", "stars", rating_of(rng, score))], 100.0)
    calibration.update(100.0)


def test_feedback_independent_of_quality_gives_about_one_half():
    calibration = Calibration(min_samples=50)
    play(calibration, 2000, lambda rng, score: rng.randint(1, 5), seed=3)
    figures = calibration.published["deepgram"]
    assert figures.pairs == 2000
    assert figures.auc == pytest.approx(0.5, abs=0.05)
    means = [m for m in figures.mean_rating.values() if m is not None]
    assert len(means) == 4 and max(means) - min(means) < 0.1


def test_feedback_following_quality_gives_a_high_auc_and_rising_band_means():
    calibration = Calibration(min_samples=50)
    play(calibration, 2000, lambda rng, score: 1 if rng.random() < (100 - score) / 100 else 5, seed=4)
    figures = calibration.published["deepgram"]
    assert figures.auc > 0.7
    means = [figures.mean_rating[band] for band in sorted(figures.mean_rating)]
    assert means == sorted(means) and means[0] < means[-1]


def test_too_few_ratings_publish_counts_but_no_figure():
    calibration = Calibration(min_samples=50)
    play(calibration, 49, lambda rng, score: 1 if score < 60 else 5, seed=5)
    figures = calibration.published["deepgram"]
    assert figures.pairs == 49 and figures.auc is None
    assert all(m is None for band, m in figures.mean_rating.items() if figures.band_pairs[band] < 10)
    # Enough ratings, but only one kind of them: still no AUC.
    one_kind = Calibration(min_samples=50)
    play(one_kind, 200, lambda rng, score: 5, seed=6)
    assert one_kind.published["deepgram"].pairs == 200 and one_kind.published["deepgram"].auc is None


def test_a_rating_read_before_the_final_score_waits_for_it_and_pairs_once():
    outcomes = []
    calibration = Calibration(min_samples=1, on_outcome=outcomes.append)
    rating = ("c1", "survey", "stars", 1)
    calibration.feedback([rating], 10.0)
    calibration.feedback([rating], 11.0)  # the series is read again every cycle while it is published
    calibration.update(11.0)
    assert calibration.published == {}
    calibration.final("c1", "deepgram", 42.0, POOR, 12.0)
    calibration.feedback([rating], 13.0)
    calibration.update(13.0)
    assert outcomes == ["paired"]
    assert calibration.published["deepgram"].pairs == 1
    assert calibration.published["deepgram"].negatives == 1


def test_ratings_of_unscored_calls_and_of_calls_never_scored_are_counted_not_paired():
    outcomes = []
    calibration = Calibration(feedback_window_seconds=60, on_outcome=outcomes.append)
    calibration.final("short", "deepgram", None, None, 0.0)
    calibration.feedback([("short", "survey", "stars", 5), ("gone", "survey", "stars", 5)], 1.0)
    calibration.update(30.0)
    assert outcomes == ["unscored"]
    calibration.update(62.0)  # the rating of a call never scored waited the whole feedback window
    assert outcomes == ["unscored", "expired"]
    assert calibration.published == {}


def test_pairs_leave_the_window_and_memory_stays_bounded():
    outcomes = []
    calibration = Calibration(window_seconds=100, max_pairs=30, max_calls=50, on_outcome=outcomes.append)
    for i in range(80):
        calibration.final(f"c{i}", "deepgram", 50.0, score_band(50.0), float(i))
        calibration.feedback([(f"c{i}", "app", "thumbs", i % 2)], float(i))
    calibration.update(80.0)
    assert calibration.published["deepgram"].pairs == 30  # the newest 30
    assert outcomes.count("forgotten") == 30  # 80 final scores, at most 50 held
    calibration.update(200.0)
    assert calibration.published == {}


def test_sources_outside_the_chosen_ones_are_left_out():
    calibration = Calibration(min_samples=1, sources=["survey"])
    calibration.final("c1", "deepgram", 80.0, score_band(80.0), 0.0)
    calibration.feedback([("c1", "platform_success", "thumbs", 0), ("c1", "survey", "stars", 4)], 0.0)
    calibration.update(0.0)
    assert calibration.published["deepgram"].pairs == 1
    assert calibration.published["deepgram"].negatives == 0


def test_each_scale_maps_onto_zero_to_one_and_knows_its_negative_ratings():
    for scale in SCALES.values():
        assert scale.satisfaction(scale.lowest) == 0.0 and scale.satisfaction(scale.highest) == 1.0
        assert scale.negative(scale.lowest) and not scale.negative(scale.highest)
    assert SCALES["nps"].negative(6) and not SCALES["nps"].negative(7)
