"""The scorer's own exposition: per-call series rendered from the current records, final records and calibration
figures at scrape time, a value that is not finite left out rather than written, and every counter's closed label
values exposed at zero from the start."""

from __future__ import annotations

import math

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from voice_monitoring.scorer import metrics
from voice_monitoring.scorer.calibration import Figures
from voice_monitoring.scorer.emodel import Transport, estimate
from voice_monitoring.scorer.final_records import FinalRecord
from voice_monitoring.scorer.inputs import CallSample
from voice_monitoring.scorer.model import BAND_NAMES, FACTORS, CallInputs, assess
from voice_monitoring.scorer.service import CallRecord
from voice_monitoring.shared import quality_bands

CALL = {"call_id": "c-1", "provider": "deepgram", "tenant": "acme"}


def record(inputs: CallInputs, transport: Transport | None = None, call_id: str = "c-1") -> CallRecord:
    sample = CallSample(call_id, "deepgram", "acme", {})
    found = estimate(transport) if transport is not None else None
    return CallRecord(call_id, "deepgram", "acme", False, assess(inputs), found, sample, 0.0)


def exposed(scorer: metrics.ScorerMetrics) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(generate_latest(scorer.registry).decode())
        for s in family.samples
    }


def of_call(samples: dict, name: str) -> dict[tuple, float]:
    return {labels: v for (n, labels), v in samples.items() if n == name}


def test_a_scored_call_has_its_score_band_every_penalty_and_its_mos():
    scored = record(CallInputs(turns=5, turn_response_p95_seconds=2.5), Transport(0.2, 0.01, 0.02, 1.0, "opus"))
    samples = exposed(metrics.ScorerMetrics(lambda: [scored]))
    key = tuple(sorted(CALL.items()))
    assert samples[(metrics.SCORE.name, key)] == round(scored.assessment.score, 3)
    assert samples[(metrics.BAND.name, key)] == scored.assessment.band
    assert samples[(metrics.INSUFFICIENT.name, key)] == 0
    penalties = {dict(labels)["factor"]: v for labels, v in of_call(samples, metrics.PENALTY.name).items()}
    assert set(penalties) == set(FACTORS) and penalties == {
        f: round(p, 3) for f, p in scored.assessment.penalties.items()
    }
    assert samples[(metrics.MOS.name, key)] == round(scored.estimate.mos, 3)
    assert samples[(metrics.R_FACTOR.name, key)] == round(scored.estimate.r_factor, 2)


def test_a_call_with_too_few_turns_says_so_and_has_no_score_and_one_without_transport_no_mos():
    samples = exposed(metrics.ScorerMetrics(lambda: [record(CallInputs(turns=1))]))
    assert of_call(samples, metrics.INSUFFICIENT.name) == {tuple(sorted(CALL.items())): 1.0}
    for m in (metrics.SCORE, metrics.BAND, metrics.PENALTY, metrics.MOS, metrics.R_FACTOR):
        assert of_call(samples, m.name) == {}, m.name


def test_records_are_read_at_each_scrape():
    records: list[CallRecord] = []
    scorer = metrics.ScorerMetrics(lambda: records)
    assert of_call(exposed(scorer), metrics.INSUFFICIENT.name) == {}
    records.append(record(CallInputs(turns=1), call_id="c-9"))
    assert len(of_call(exposed(scorer), metrics.INSUFFICIENT.name)) == 1


def test_a_final_record_has_its_score_by_band_and_factor_and_its_cost_and_a_value_not_finite_is_left_out():
    finals = [
        FinalRecord("c-1", "deepgram", "acme", 71.23456, "fair", "latency", 0.1234567, 0.0),
        FinalRecord("c-2", "deepgram", "acme", None, "", "", math.nan, 0.0),
    ]
    samples = exposed(metrics.ScorerMetrics(lambda: [], final_records=lambda: finals))
    scores = of_call(samples, metrics.FINAL_SCORE_RECORD.name)
    assert scores == {tuple(sorted({**CALL, "band": "fair", "factor": "latency"}.items())): 71.235}
    assert of_call(samples, metrics.FINAL_COST.name) == {tuple(sorted(CALL.items())): 0.123457}


def test_calibration_figures_leave_out_what_is_below_its_minimum_sample():
    bands = [band.level for band in quality_bands.ALL]
    figures = Figures(40, 8, None, {bands[0]: 10, bands[1]: 30}, {bands[0]: None, bands[1]: 0.81234})
    samples = exposed(metrics.ScorerMetrics(lambda: [], calibration=lambda: {"deepgram": figures}))
    assert of_call(samples, metrics.AUC.name) == {}
    assert of_call(samples, metrics.PAIRS.name) == {(("provider", "deepgram"),): 40}
    assert of_call(samples, metrics.NEGATIVE_PAIRS.name) == {(("provider", "deepgram"),): 8}
    assert of_call(samples, metrics.MEAN_RATING.name) == {
        (("band", BAND_NAMES[bands[1]]), ("provider", "deepgram")): 0.8123
    }
    assert len(of_call(samples, metrics.BAND_PAIRS.name)) == 2


def test_query_error_reasons_and_feedback_outcomes_are_exposed_at_zero_from_the_start():
    samples = exposed(metrics.ScorerMetrics(lambda: []))
    errors = {dict(labels)["reason"]: v for labels, v in of_call(samples, metrics.QUERY_ERRORS.name).items()}
    assert errors == dict.fromkeys(metrics.QUERY_ERROR_REASONS, 0.0)
    outcomes = {dict(labels)["outcome"]: v for labels, v in of_call(samples, metrics.FEEDBACK.name).items()}
    assert outcomes == dict.fromkeys(metrics.FEEDBACK_OUTCOMES, 0.0)
