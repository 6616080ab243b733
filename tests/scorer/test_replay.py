"""Replay: the recorded final values of ended calls as PromQL, and each provider's calibration figures with every
recorded call scored again by a parameter set, counting only the feedback sources asked for."""

from __future__ import annotations

import dataclasses

import pytest

from voice_monitoring.scorer import inputs
from voice_monitoring.scorer.inputs import CallSample, Query
from voice_monitoring.scorer.replay import BANDS, Recorded, calibrate, recorded, report
from voice_monitoring.scorer.scoring_parameters import load

DEFAULTS = load(None)


def call(call_id: str, provider: str, turns: float, turn_seconds: float) -> CallSample:
    values = {inputs.TURNS: turns, inputs.TURN_RESPONSE_P95: turn_seconds, inputs.ENDED: 1.0}
    return CallSample(call_id, provider, "acme", values)


def data() -> Recorded:
    """Two providers: for each, fast calls rated five stars and slow ones rated one."""
    calls, ratings = {}, []
    for provider in ("deepgram", "assemblyai"):
        for i in range(4):
            fast = i % 2 == 0
            call_id = f"{provider}-{i}"
            calls[call_id] = call(call_id, provider, 5, 0.6 if fast else 4.0)
            ratings.append((call_id, "survey", "stars", 5 if fast else 1))
    return Recorded(calls, ratings)


def test_a_recorded_query_reads_the_last_value_of_its_series_within_the_window():
    query = Query(("a",), "> 0", labels=("provider",))
    assert recorded(query, "voice_exporter", "7d") == (
        'max by (__name__, call_id, provider) (last_over_time({__name__=~"a", job="voice_exporter"}[7d]) > 0)'
    )
    assert (
        recorded(Query(("a", "b")), None, "1h") == 'max by (__name__, call_id) (last_over_time({__name__=~"a|b"}[1h]))'
    )


def test_scores_that_order_the_ratings_give_each_provider_an_auc_of_one():
    figures = calibrate(data(), DEFAULTS, min_samples=4)
    assert list(figures) == ["assemblyai", "deepgram"]
    for f in figures.values():
        assert (f.pairs, f.negatives, f.auc) == (4, 2, 1.0)
        assert sum(f.band_pairs.values()) == 4


def test_a_figure_below_its_minimum_sample_is_none():
    figures = calibrate(data(), DEFAULTS, min_samples=5)
    assert figures["deepgram"].auc is None and figures["deepgram"].pairs == 4


def test_only_the_sources_asked_for_are_counted():
    recorded_data = data()
    recorded_data.ratings.append(("deepgram-1", "evaluator", "stars", 5))
    assert calibrate(recorded_data, DEFAULTS, 4)["deepgram"].pairs == 5
    assert calibrate(recorded_data, DEFAULTS, 4, sources={"evaluator"})["deepgram"].pairs == 1
    assert calibrate(recorded_data, DEFAULTS, 4, sources={"app"}) == {}


def test_ratings_of_calls_not_recorded_or_not_scored_are_left_out():
    recorded_data = data()
    recorded_data.ratings.append(("gone", "survey", "stars", 1))
    recorded_data.calls["short"] = call("short", "deepgram", DEFAULTS.min_turns - 1, 0.6)
    recorded_data.ratings.append(("short", "survey", "stars", 1))
    assert calibrate(recorded_data, DEFAULTS, 4)["deepgram"].pairs == 4
    stricter = dataclasses.replace(DEFAULTS, min_turns=6)
    assert calibrate(recorded_data, stricter, 4) == {}


def test_the_report_has_one_line_per_provider_with_both_aucs():
    now = calibrate(data(), DEFAULTS, 4)
    lines = report(now, {"deepgram": now["deepgram"]}).splitlines()
    assert len(lines) == 1 + len(now)
    deepgram = next(line for line in lines if line.startswith("deepgram"))
    assert deepgram.split()[1:5] == ["4", "2", "1.000", "1.000"]
    assemblyai = next(line for line in lines if line.startswith("assemblyai"))
    assert assemblyai.split()[4] == "-"
    assert len(deepgram.split("=")) == len(BANDS) + 1


@pytest.mark.parametrize("candidate", [None, {}])
def test_without_a_candidate_its_column_is_a_dash(candidate):
    lines = report(calibrate(data(), DEFAULTS, 4), candidate).splitlines()
    assert all(line.split()[4] == "-" for line in lines[1:])
