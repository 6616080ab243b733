"""The final record of each ended call: its last score, band, main penalty factor and cost, published for a bounded
time after the scorer saw it end.

A "calls in range" table reads one series per ended call (two or three samples at a 15 s scrape) instead of every
per-call series over the call's whole life. Records expire after ``ttl_seconds``; at most ``capacity`` are held, the
oldest dropped first and counted.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from voice_monitoring.scorer.model import FACTORS, Assessment
from voice_monitoring.shared import quality_bands

DEFAULT_TTL_SECONDS = 60.0
DEFAULT_CAPACITY = 50_000


@dataclass(frozen=True)
class FinalRecord:
    call_id: str
    provider: str
    tenant: str
    score: float | None  # None: too few turns to score
    band: str  # the band's name, as the dashboards show it; "" without a score
    factor: str  # the factor taking most points off; "" without a score
    cost_usd: float | None
    at: float


def main_factor(assessment: Assessment) -> str:
    """The factor that takes most points off (the first in FACTORS on a tie)."""
    return max(FACTORS, key=lambda f: assessment.penalties[f])


def final_record(call_id, provider, tenant, assessment: Assessment, cost_usd, at: float) -> FinalRecord:
    if assessment.insufficient_data or assessment.score is None:
        return FinalRecord(call_id, provider, tenant, None, "", "", cost_usd, at)
    band = quality_bands.ALL[assessment.band].name
    return FinalRecord(call_id, provider, tenant, assessment.score, band, main_factor(assessment), cost_usd, at)


class FinalRecords:
    """Bounded in count and in time. Only the scoring thread adds; scrapes read ``published``."""

    def __init__(self, ttl_seconds: float = DEFAULT_TTL_SECONDS, capacity: int = DEFAULT_CAPACITY, on_drop=None):
        self.ttl_seconds = ttl_seconds
        self.capacity = capacity
        self.on_drop = on_drop or (lambda: None)
        self._records: OrderedDict[str, FinalRecord] = OrderedDict()

    def add(self, record: FinalRecord) -> None:
        self._records[record.call_id] = record
        self._records.move_to_end(record.call_id)
        while len(self._records) > self.capacity:
            self._records.popitem(last=False)
            self.on_drop()

    def expire(self, now: float) -> None:
        while self._records:
            oldest = next(iter(self._records.values()))
            if now - oldest.at < self.ttl_seconds:
                break
            self._records.popitem(last=False)

    def published(self, now: float) -> list[FinalRecord]:
        return [r for r in list(self._records.values()) if now - r.at < self.ttl_seconds]

    def __len__(self) -> int:
        return len(self._records)
