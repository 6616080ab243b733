"""The scorer's own /metrics: per-call scores, the final-score histogram, and its health.

Every name, help text, label set and bucket list comes from the catalogue's
scorer section.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily

from voice_monitoring.scorer.calibration import Figures
from voice_monitoring.scorer.final_records import FinalRecord
from voice_monitoring.scorer.model import BAND_NAMES, FACTORS
from voice_monitoring.shared import catalogue

if TYPE_CHECKING:  # the service module builds these metrics around its records
    from voice_monitoring.scorer.service import CallRecord

QUERY_ERROR_REASONS = ("timeout", "http", "tls", "auth", "parse")

SCORE = catalogue.metric("ai_agent_call_quality_score")
BAND = catalogue.metric("ai_agent_call_quality_band")
PENALTY = catalogue.metric("ai_agent_call_quality_penalty")
INSUFFICIENT = catalogue.metric("ai_agent_call_quality_insufficient_data")
MOS = catalogue.metric("ai_agent_call_mos_estimate")
R_FACTOR = catalogue.metric("ai_agent_call_r_factor")
FINAL_SCORE = catalogue.metric("ai_agent_call_quality_final_score")
CYCLE_SECONDS = catalogue.metric("ai_agent_scorer_cycle_seconds")
LAST_SUCCESS = catalogue.metric("ai_agent_scorer_last_success_timestamp_seconds")
QUERIES_TOTAL = catalogue.metric("ai_agent_scorer_queries_total")
QUERY_ERRORS = catalogue.metric("ai_agent_scorer_query_errors_total")
SCORED_CALLS = catalogue.metric("ai_agent_scorer_scored_calls")
AUC = catalogue.metric("ai_agent_quality_calibration_auc")
PAIRS = catalogue.metric("ai_agent_quality_calibration_pairs")
NEGATIVE_PAIRS = catalogue.metric("ai_agent_quality_calibration_negative_pairs")
MEAN_RATING = catalogue.metric("ai_agent_quality_calibration_mean_rating")
BAND_PAIRS = catalogue.metric("ai_agent_quality_calibration_band_pairs")
FEEDBACK = catalogue.metric("ai_agent_scorer_feedback_total")
FINAL_SCORE_RECORD = catalogue.metric("ai_agent_call_final_quality_score")
FINAL_COST = catalogue.metric("ai_agent_call_final_cost_usd")
FINAL_DROPPED = catalogue.metric("ai_agent_scorer_final_records_dropped_total")
FEEDBACK_OUTCOMES = ("paired", "unscored", "expired", "forgotten")


def _family(m: catalogue.Metric) -> GaugeMetricFamily:
    return GaugeMetricFamily(m.name, m.help, labels=m.labels)


def _buckets(m: catalogue.Metric) -> tuple[float, ...]:
    if m.buckets is None:
        raise ValueError(f"{m.name} is not a histogram")
    return m.buckets


def _add(family: GaugeMetricFamily, labels: list[str], value: float, digits: int) -> None:
    """A sample, unless its value is NaN or infinite: no value beats a value no query can compare."""
    if math.isfinite(value):
        family.add_metric(labels, round(value, digits))


class _PerCallCollector:
    """Renders the per-call series from the scorer's current records at scrape time."""

    def __init__(self, records: Callable[[], list[CallRecord]]):
        self._records = records

    def collect(self) -> list[GaugeMetricFamily]:
        score, band, penalty, insufficient, mos, r_factor = (
            _family(m) for m in (SCORE, BAND, PENALTY, INSUFFICIENT, MOS, R_FACTOR)
        )
        for record in self._records():
            labels = [record.call_id, record.provider, record.tenant]
            a = record.assessment
            insufficient.add_metric(labels, 1.0 if a.insufficient_data else 0.0)
            if not a.insufficient_data and a.score is not None and a.band is not None:  # scored: both are set
                _add(score, labels, a.score, 3)
                band.add_metric(labels, float(a.band))
                for factor in FACTORS:
                    _add(penalty, labels + [factor], a.penalties[factor], 3)
            if record.estimate is not None:
                _add(mos, labels, record.estimate.mos, 3)
                _add(r_factor, labels, record.estimate.r_factor, 2)
        return [score, band, penalty, insufficient, mos, r_factor]

    def describe(self) -> list[GaugeMetricFamily]:
        return [_family(m) for m in (SCORE, BAND, PENALTY, INSUFFICIENT, MOS, R_FACTOR)]


class _FinalRecordCollector:
    """Renders the final records (``final_records.FinalRecord``) still within their time at scrape time."""

    def __init__(self, records: Callable[[], list[FinalRecord]]):
        self._records = records

    def collect(self) -> list[GaugeMetricFamily]:
        score, cost = _family(FINAL_SCORE_RECORD), _family(FINAL_COST)
        for r in self._records():
            labels = [r.call_id, r.provider, r.tenant]
            if r.score is not None:
                _add(score, labels + [r.band, r.factor], r.score, 3)
            if r.cost_usd is not None:
                _add(cost, labels, r.cost_usd, 6)
        return [score, cost]

    def describe(self) -> list[GaugeMetricFamily]:
        return [_family(FINAL_SCORE_RECORD), _family(FINAL_COST)]


class _CalibrationCollector:
    """Renders each provider's calibration figures (``calibration.Figures``) at scrape time."""

    def __init__(self, figures: Callable[[], dict[str, Figures]]):
        self._figures = figures  # provider -> its figures

    def collect(self) -> list[GaugeMetricFamily]:
        auc, pairs, negatives, mean_rating, band_pairs = (
            _family(m) for m in (AUC, PAIRS, NEGATIVE_PAIRS, MEAN_RATING, BAND_PAIRS)
        )
        for provider, f in sorted(self._figures().items()):
            pairs.add_metric([provider], float(f.pairs))
            negatives.add_metric([provider], float(f.negatives))
            if f.auc is not None:
                _add(auc, [provider], f.auc, 4)
            for band, count in f.band_pairs.items():
                band_pairs.add_metric([provider, BAND_NAMES[band]], float(count))
                mean = f.mean_rating.get(band)
                if mean is not None:
                    _add(mean_rating, [provider, BAND_NAMES[band]], mean, 4)
        return [auc, pairs, negatives, mean_rating, band_pairs]

    def describe(self) -> list[GaugeMetricFamily]:
        return [_family(m) for m in (AUC, PAIRS, NEGATIVE_PAIRS, MEAN_RATING, BAND_PAIRS)]


class ScorerMetrics:
    def __init__(
        self,
        records: Callable[[], list[CallRecord]],
        calibration: Callable[[], dict[str, Figures]] = lambda: {},
        registry: CollectorRegistry | None = None,
        final_records: Callable[[], list[FinalRecord]] = lambda: [],
    ):
        self.registry = registry or CollectorRegistry()
        self.registry.register(_PerCallCollector(records))
        self.registry.register(_FinalRecordCollector(final_records))
        self.registry.register(_CalibrationCollector(calibration))
        r = self.registry
        self.final_score = Histogram(
            FINAL_SCORE.name, FINAL_SCORE.help, FINAL_SCORE.labels, buckets=_buckets(FINAL_SCORE), registry=r
        )
        self.cycle_seconds = Histogram(
            CYCLE_SECONDS.name, CYCLE_SECONDS.help, CYCLE_SECONDS.labels, buckets=_buckets(CYCLE_SECONDS), registry=r
        )
        self.last_success = Gauge(LAST_SUCCESS.name, LAST_SUCCESS.help, LAST_SUCCESS.labels, registry=r)
        self.queries = Counter(QUERIES_TOTAL.name, QUERIES_TOTAL.help, QUERIES_TOTAL.labels, registry=r)
        self.query_errors = Counter(QUERY_ERRORS.name, QUERY_ERRORS.help, QUERY_ERRORS.labels, registry=r)
        for reason in QUERY_ERROR_REASONS:
            self.query_errors.labels(reason)
        self.feedback = Counter(FEEDBACK.name, FEEDBACK.help, FEEDBACK.labels, registry=r)
        for outcome in FEEDBACK_OUTCOMES:
            self.feedback.labels(outcome)
        self.final_records_dropped = Counter(FINAL_DROPPED.name, FINAL_DROPPED.help, FINAL_DROPPED.labels, registry=r)
        self.scored_calls = Gauge(SCORED_CALLS.name, SCORED_CALLS.help, SCORED_CALLS.labels, registry=r)
