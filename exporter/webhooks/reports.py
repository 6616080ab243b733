"""What a webhook turns into, and the two memories a receiver keeps between requests.

A post-call report is one unit: all of its events are checked before any is applied, it is applied
before the reply, and a platform call's report is applied once (``ReportLedger``).  ``LiveCalls``
remembers the calls whose start arrived live, so the report neither starts them again nor counts
their live interruptions twice.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

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

    events: list[dict] = field(default_factory=list)
    report: str | None = None
    note: str = ""
    counted: dict[str, int] = field(default_factory=dict)


class ReportLedger:
    """Keys of applied reports, each remembered for ``ttl`` seconds, at most ``size`` of them."""

    def __init__(self, ttl: float = REPORT_MAX_AGE_SECONDS, size: int = REPORT_LEDGER_SIZE):
        self.ttl = ttl
        self.size = size
        self._until: OrderedDict[str, float] = OrderedDict()

    def __contains__(self, key: str) -> bool:
        return key in self._until

    def __len__(self) -> int:
        return len(self._until)

    def forget_expired(self, now: float) -> None:
        until = self._until
        while until:
            key, at = next(iter(until.items()))
            if at > now:
                break
            del until[key]

    def remember(self, key: str, now: float) -> int:
        """Remember ``key``; returns how many older keys were dropped early because the ledger was full."""
        self._until[key] = now + self.ttl
        self._until.move_to_end(key)
        dropped = 0
        while len(self._until) > self.size:
            self._until.popitem(last=False)
            dropped += 1
        return dropped


@dataclass
class LiveCall:
    started_at: float
    interruptions: int = 0


class LiveCalls:
    """Calls whose start arrived live, oldest dropped first beyond ``size`` or after ``ttl`` seconds."""

    def __init__(self, ttl: float = REPORT_MAX_AGE_SECONDS, size: int = 50_000):
        self.ttl = ttl
        self.size = size
        self._calls: OrderedDict[str, LiveCall] = OrderedDict()

    def get(self, call_id: str) -> LiveCall | None:
        return self._calls.get(call_id)

    def start(self, call_id: str, now: float) -> None:
        self._calls[call_id] = LiveCall(now)
        while len(self._calls) > self.size:
            self._calls.popitem(last=False)

    def pop(self, call_id: str) -> LiveCall | None:
        return self._calls.pop(call_id, None)

    def forget_expired(self, now: float) -> None:
        calls = self._calls
        while calls:
            call = next(iter(calls.values()))
            if call.started_at + self.ttl > now:
                break
            calls.popitem(last=False)

    def __len__(self) -> int:
        return len(self._calls)
