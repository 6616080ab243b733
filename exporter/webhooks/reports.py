"""What a webhook turns into, and the two memories a receiver keeps between requests.

A post-call report is one unit: all of its events are checked before any is applied, it is applied
before the reply, and a platform call's report is applied once (``ReportLedger``).  ``LiveCalls``
remembers the calls whose start arrived live, so the report neither starts them again nor counts
their live interruptions twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from voice_monitoring.exporter.expiring_ids import ExpiringIds

# The receiver accepts a post-call report whose call started at most this long ago.  The ledger
# remembers an applied report for as long, so any redelivery it would accept is recognised.
REPORT_MAX_AGE_SECONDS = 24 * 3600.0
REPORT_LEDGER_SIZE = 100_000


@dataclass
class Translation:
    """The exporter events a webhook stands for.

    ``report`` names a post-call report (its dedup key within the platform) or is None for a live message;
    ``counted`` holds further outcomes of the webhook counter to count once the events are applied
    (``unknown_product``: a billed product the receiver's table does not know).
    """

    events: list[dict[str, Any]] = field(default_factory=list)
    report: str | None = None
    note: str = ""
    counted: dict[str, int] = field(default_factory=dict)


class ReportLedger(ExpiringIds[None]):
    """Keys of applied reports, each remembered for ``ttl`` seconds, at most ``size`` of them."""

    def __init__(
        self,
        ttl: float = REPORT_MAX_AGE_SECONDS,
        size: int = REPORT_LEDGER_SIZE,
        on_evict: Callable[[], None] | None = None,
    ):
        super().__init__(size, on_evict)
        self.ttl = ttl

    def applied(self, key: str, now: float) -> None:
        self.remember(key, now + self.ttl)


@dataclass
class LiveCall:
    interruptions: int = 0


class LiveCalls(ExpiringIds[LiveCall]):
    """Calls whose start arrived live, each remembered for ``ttl`` seconds, at most ``size`` of them."""

    def __init__(self, ttl: float = REPORT_MAX_AGE_SECONDS, size: int = 50_000):
        super().__init__(size)
        self.ttl = ttl

    def start(self, call_id: str, now: float) -> None:
        self.remember(call_id, now + self.ttl, LiveCall())
