"""The final record of each ended call (its last score, band, main penalty factor and cost), and the index the
dashboards' calls-in-range tables read: the records of the ``ranked`` worst calls of each provider and the
``ranked`` costliest of each tenant among the calls that ended in the last ``ttl_seconds``, chosen again every
cycle.

A call among a range's ``ranked`` worst of its provider (or costliest of its tenant) ranks so, while its record is
held, in some trailing window inside the range or ending at its own end, so it is published at some scrape in the
range. A table's range query then reads at most (providers + tenants) x ``ranked`` series at each scrape, whatever
the call rate, instead of every call's series. Records are held for ``ttl_seconds``; at most ``capacity``,
the oldest dropped first and counted.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter

from voice_monitoring.scorer.model import FACTORS, Assessment
from voice_monitoring.shared import quality_bands

DEFAULT_TTL_SECONDS = 3600.0
DEFAULT_CAPACITY = 200_000
DEFAULT_RANKED = 10  # the dashboards' tables list 10 calls


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


def final_record(
    call_id: str, provider: str, tenant: str, assessment: Assessment, cost_usd: float | None, at: float
) -> FinalRecord:
    if assessment.insufficient_data or assessment.score is None or assessment.band is None:
        return FinalRecord(call_id, provider, tenant, None, "", "", cost_usd, at)
    band = quality_bands.ALL[assessment.band].name
    return FinalRecord(call_id, provider, tenant, assessment.score, band, main_factor(assessment), cost_usd, at)


def ranked(records: list[FinalRecord], n: int) -> list[FinalRecord]:
    """The records among the ``n`` lowest scores of their provider or the ``n`` highest costs of their tenant (the
    worst-calls tables select providers, the costliest-calls table tenants)."""
    # (score or cost, record)
    by_provider: dict[str, list[tuple[float, FinalRecord]]] = defaultdict(list)
    by_tenant: dict[str, list[tuple[float, FinalRecord]]] = defaultdict(list)
    for r in records:
        if r.score is not None:
            by_provider[r.provider].append((r.score, r))
        if r.cost_usd is not None:
            by_tenant[r.tenant].append((r.cost_usd, r))
    chosen: dict[str, FinalRecord] = {}
    for group in by_provider.values():
        chosen.update((r.call_id, r) for _, r in heapq.nsmallest(n, group, key=itemgetter(0)))
    for group in by_tenant.values():
        chosen.update((r.call_id, r) for _, r in heapq.nlargest(n, group, key=itemgetter(0)))
    return list(chosen.values())


class FinalRecords:
    """Bounded in count and in time. Only the scoring thread changes it; scrapes read ``published``, which
    ``update`` replaces whole."""

    def __init__(
        self,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        capacity: int = DEFAULT_CAPACITY,
        ranked: int = DEFAULT_RANKED,
        on_drop: Callable[[], None] | None = None,
    ):
        self.ttl_seconds = ttl_seconds
        self.capacity = capacity
        self.ranked = ranked
        self.on_drop = on_drop or (lambda: None)
        self._records: OrderedDict[str, FinalRecord] = OrderedDict()
        self._published: list[FinalRecord] = []

    def add(self, record: FinalRecord) -> None:
        self._records[record.call_id] = record
        self._records.move_to_end(record.call_id)
        while len(self._records) > self.capacity:
            self._records.popitem(last=False)
            self.on_drop()

    def update(self, now: float) -> None:
        """Forget the records older than their time and rank the rest."""
        while self._records:
            oldest = next(iter(self._records.values()))
            if now - oldest.at < self.ttl_seconds:
                break
            self._records.popitem(last=False)
        self._published = ranked(list(self._records.values()), self.ranked)

    def published(self, now: float) -> list[FinalRecord]:
        return [r for r in self._published if now - r.at < self.ttl_seconds]

    def __len__(self) -> int:
        return len(self._records)
