"""The scoring loop: read every call's inputs, assess them, publish, and keep honest when Prometheus fails."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypedDict

from voice_monitoring.scorer import emodel
from voice_monitoring.scorer.calibration import Calibration, Figures
from voice_monitoring.scorer.final_records import FinalRecord, FinalRecords, final_record
from voice_monitoring.scorer.inputs import CallSample, InputReader
from voice_monitoring.scorer.metrics import ScorerMetrics
from voice_monitoring.scorer.model import BAND_NAMES, FACTORS, Assessment, assess
from voice_monitoring.scorer.promql import QueryError
from voice_monitoring.scorer.scoring_parameters import ScoringParameters

log = logging.getLogger("voice-scorer")


class FactorJson(TypedDict):
    value: float
    penalty: float | None  # None while data is insufficient
    max: float


class EstimateJson(TypedDict):
    r_factor: float
    mos: float
    one_way_delay_seconds: float
    basic_signal_to_noise: float
    simultaneous_impairment: float
    delay_impairment: float
    talker_echo_impairment: float
    listener_echo_impairment: float
    pure_delay_impairment: float
    equipment_impairment: float
    codec: str


class CallJson(TypedDict):
    """A call's score and why, as GET /calls/{call_id} answers it."""

    call_id: str
    provider: str
    tenant: str
    ended: bool
    insufficient_data: bool
    score: float | None
    band: int | None
    band_name: str | None
    uncapped_score: float | None
    score_band: int | None
    gate_band: int | None
    gate_points: float
    factors: dict[str, FactorJson]
    inputs: dict[str, float]
    codec: str | None
    updated_at: float
    emodel: EstimateJson | None


class Health(TypedDict):
    """The scorer's health, as GET /health answers it."""

    status: str  # ok | starting | degraded
    last_success: float | None
    seconds_since_success: float | None
    consecutive_failures: int
    last_error: str | None
    scores_expired: bool
    calls: int
    scored_calls: int
    interval_seconds: float


@dataclass
class CallRecord:
    call_id: str
    provider: str
    tenant: str
    ended: bool
    assessment: Assessment
    estimate: emodel.Estimate | None
    sample: CallSample
    last_seen: float  # wall time of the last cycle whose answer held the call
    final_observed: bool = False

    def to_json(self, params: ScoringParameters) -> CallJson:
        a = self.assessment
        factors: dict[str, FactorJson] = {
            name: {
                "value": round(a.values[name], 4),
                "penalty": round(a.penalties[name], 3) if not a.insufficient_data else None,
                "max": getattr(params.penalties, name).maximum,
            }
            for name in FACTORS
        }
        e = self.estimate
        return {
            "call_id": self.call_id,
            "provider": self.provider,
            "tenant": self.tenant,
            "ended": self.ended,
            "insufficient_data": a.insufficient_data,
            "score": round(a.score, 2) if a.score is not None else None,
            "band": a.band,
            "band_name": BAND_NAMES[a.band] if a.band is not None else None,
            "uncapped_score": round(a.uncapped_score, 2) if a.uncapped_score is not None else None,
            "score_band": a.score_band,
            "gate_band": a.gate_band,
            "gate_points": round(a.gate_points, 3),
            "factors": factors,
            "inputs": dict(sorted(self.sample.values.items())),
            "codec": self.sample.codec,
            "updated_at": self.last_seen,
            "emodel": None
            if e is None
            else {
                "r_factor": round(e.r_factor, 2),
                "mos": round(e.mos, 3),
                "one_way_delay_seconds": round(e.one_way_delay_seconds, 4),
                "basic_signal_to_noise": round(e.basic_signal_to_noise, 3),
                "simultaneous_impairment": round(e.simultaneous_impairment, 3),
                "delay_impairment": round(e.delay_impairment, 3),
                "talker_echo_impairment": round(e.talker_echo_impairment, 3),
                "listener_echo_impairment": round(e.listener_echo_impairment, 3),
                "pure_delay_impairment": round(e.pure_delay_impairment, 3),
                "equipment_impairment": round(e.equipment_impairment, 3),
                "codec": e.codec,
            },
        }


class Scorer:
    def __init__(
        self,
        reader: InputReader,
        parameters: ScoringParameters,
        interval: float = 30.0,
        keep_absent_call_seconds: float = 60.0,
        expire_after_cycles: int = 3,
        max_backoff_seconds: float = 300.0,
        clock: Callable[[], float] = time.time,
        metrics: ScorerMetrics | None = None,
        calibration: Calibration | None = None,
        final_records: FinalRecords | None = None,
    ):
        self.reader = reader
        self.parameters = parameters
        self.interval = interval
        self.keep_absent_call_seconds = keep_absent_call_seconds
        self.expire_after_cycles = expire_after_cycles
        self.max_backoff_seconds = max(max_backoff_seconds, interval)
        self.clock = clock
        self.lock = threading.Lock()
        self.records: dict[str, CallRecord] = {}
        self.calibration = calibration or Calibration()
        self.final_records = FinalRecords() if final_records is None else final_records
        self.final_records.on_drop = lambda: self.metrics.final_records_dropped.inc()
        self.metrics = metrics or ScorerMetrics(
            self.snapshot, self._calibration_figures, final_records=self._final_records_published
        )
        self.calibration.on_outcome = lambda outcome: self.metrics.feedback.labels(outcome).inc()
        reader.on_query = self.metrics.queries.inc
        reader.on_error = lambda reason: self.metrics.query_errors.labels(reason).inc()
        self.last_success: float | None = None
        self.last_error: str | None = None
        self.consecutive_failures = 0
        self.metrics.scored_calls.set_function(self._scored)

    def snapshot(self) -> list[CallRecord]:
        """The calls whose scores are published: none once the last success is too old to trust."""
        if self.expired:
            return []
        with self.lock:
            return list(self.records.values())

    @property
    def expired(self) -> bool:
        if self.last_success is None:
            return False
        return self.clock() - self.last_success >= self.expire_after_cycles * self.interval

    def _scored(self) -> int:
        return sum(1 for r in self.snapshot() if r.assessment.score is not None)

    # --- one cycle -----------------------------------------------------------------

    def cycle(self) -> bool:
        """Read, score and publish once; False when Prometheus could not be read."""
        began = time.monotonic()
        try:
            samples = self.reader.read()
        except QueryError as exc:
            self._failed(str(exc))
            return False
        finally:
            self.metrics.cycle_seconds.observe(time.monotonic() - began)
        now = self.clock()
        fresh = {call_id: self._record(sample, now) for call_id, sample in samples.items()}
        with self.lock:
            previous = self.records
            for call_id, record in fresh.items():
                old = previous.get(call_id)
                if old is not None:
                    record.final_observed = old.final_observed
            for call_id, old in previous.items():
                if call_id not in fresh and now - old.last_seen < self.keep_absent_call_seconds:
                    fresh[call_id] = old
            self.records = fresh
        self._observe_final_scores(fresh.values(), now)
        self.final_records.update(now)
        self._calibrate(now)
        self.metrics.last_success.set(now)
        self.last_success = now
        self.last_error = None
        self.consecutive_failures = 0
        return True

    def _record(self, sample: CallSample, now: float) -> CallRecord:
        transport = sample.transport()
        estimate = emodel.estimate(transport, self.parameters.emodel) if transport.measured() else None
        return CallRecord(
            sample.call_id,
            sample.provider,
            sample.tenant,
            sample.ended,
            assess(sample.inputs(), self.parameters),
            estimate,
            sample,
            now,
        )

    def _observe_final_scores(self, records: Iterable[CallRecord], now: float) -> None:
        for record in records:
            if record.ended and not record.final_observed:
                record.final_observed = True
                # A promoted call is in the sample because it went badly: counting it would bias the distribution,
                # and the calibration.
                score = record.assessment.score if not record.sample.promoted else None
                if score is not None:
                    self.metrics.final_score.labels(record.provider, record.tenant).observe(score)
                self.calibration.final(record.call_id, record.provider, score, record.assessment.band, now)
                self.final_records.add(
                    final_record(
                        record.call_id, record.provider, record.tenant, record.assessment, record.sample.cost_usd, now
                    )
                )

    def _calibrate(self, now: float) -> None:
        """Pair the feedback published now with final scores; a failed read only delays the pairing, as a rating
        stays published for minutes."""
        try:
            ratings = self.reader.read_feedback()
        except QueryError as exc:
            log.warning("reading feedback failed: %s", exc)
            ratings = []
        # Only this thread changes the calibration; a scrape reads ``published``, which update() replaces whole.
        self.calibration.feedback(ratings, now)
        self.calibration.update(now)

    def _final_records_published(self) -> list[FinalRecord]:
        return self.final_records.published(self.clock())

    def _calibration_figures(self) -> dict[str, Figures]:
        """The calibration figures, none once the last success is too old to trust."""
        return {} if self.expired else self.calibration.published

    def _failed(self, error: str) -> None:
        self.consecutive_failures += 1
        self.last_error = error
        log.warning("scoring cycle failed (%d in a row): %s", self.consecutive_failures, error)

    # --- the loop --------------------------------------------------------------------

    def next_delay(self) -> float:
        """The interval after a success; exponential backoff from the interval after failures."""
        if self.consecutive_failures == 0:
            return self.interval
        doublings = min(self.consecutive_failures - 1, 64)  # beyond 2**64 intervals any ceiling is reached
        return min(self.interval * 2.0**doublings, self.max_backoff_seconds)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                self.cycle()
            except Exception:  # a bug in one cycle must not end the service
                log.exception("scoring cycle crashed")
                self._failed("internal error")
            delay = self.next_delay() - (time.monotonic() - started)
            stop.wait(max(delay, 0.0))

    # --- what the HTTP front reads -------------------------------------------------------

    def health(self) -> Health:
        now = self.clock()
        status = "ok"
        if self.last_success is None:
            status = "starting" if self.consecutive_failures == 0 else "degraded"
        elif self.consecutive_failures:
            status = "degraded"
        published = self.snapshot()
        return {
            "status": status,
            "last_success": self.last_success,
            "seconds_since_success": None if self.last_success is None else round(now - self.last_success, 3),
            "consecutive_failures": self.consecutive_failures,
            "last_error": self.last_error,
            "scores_expired": self.expired,
            "calls": len(published),
            "scored_calls": sum(1 for r in published if r.assessment.score is not None),
            "interval_seconds": self.interval,
        }

    def ready(self) -> bool:
        return self.last_success is not None and not self.expired

    def call(self, call_id: str) -> CallJson | None:
        if self.expired:
            return None
        with self.lock:
            record = self.records.get(call_id)
        return None if record is None else record.to_json(self.parameters)
