"""Caller feedback on calls: which calls may still receive it, one rating per call and source, and the short-lived
per-call series the scorer reads to pair each rating with the call's final score.

Feedback is accepted for a call the exporter holds (in progress or in its grace period) and, for
``window_seconds`` after the exporter received its call.ended, for a call whose series are already gone: the ledger
remembers each ended call's labels that long, at most ``max_calls`` of them.  Each accepted rating is published as
``ai_agent_call_feedback_rating`` for ``series_seconds``, long enough for Prometheus to scrape it and the scorer to
read it a few times; the scorer keeps the final scores, so no per-call series outlives its reading.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from voice_monitoring.exporter.calls import Call
from voice_monitoring.exporter.events import InvalidEvent
from voice_monitoring.exporter.expiring_ids import ExpiringIds
from voice_monitoring.shared.feedback import SENTIMENT_RATINGS

RATING = "ai_agent_call_feedback_rating"

# (call_id, provider, tenant, (source, scale), rating) of a published rating
Rating = tuple[str, str, str, tuple[str, str], float]


@dataclass(slots=True)
class EndedCall:
    """What the ledger keeps of an ended call while its feedback window is open."""

    ended_at: float
    provider: str
    tenant: str
    sources: list[str] | None  # the sources that rated it, the call's own list once it has one


class FeedbackLedger:
    def __init__(
        self,
        window_seconds: float,
        series_seconds: float,
        max_calls: int = 100_000,
        on_forget_early: Callable[[], None] | None = None,
    ):
        self.window_seconds = window_seconds
        self.series_seconds = series_seconds
        self.max_calls = max_calls
        self._ended: ExpiringIds[EndedCall] = ExpiringIds(max_calls, on_forget_early)  # until its window closes
        # (publish until, call_id, provider, tenant, source, scale, rating), oldest first
        self._series: deque[tuple[float, str, str, str, str, str, float]] = deque()

    def __len__(self) -> int:
        return len(self._ended)

    def ended(self, call: Call, now: float) -> None:
        """Open the call's feedback window."""
        entry = EndedCall(now, call.provider, call.tenant, call.feedback_sources)
        self._ended.remember(call.call_id, now + self.window_seconds, entry)

    def accept(
        self, call_id: str, call: Call | None, recently_removed: bool, source: str, now: float
    ) -> tuple[str, str]:
        """(provider, tenant) to publish a rating of ``source`` under; raises InvalidEvent when it is refused."""
        entry = self._ended.get(call_id)
        if entry is None and call is not None and call.ended:  # an ended call restored from the state file
            self.ended(call, now)
            entry = self._ended.get(call_id)
        if entry is not None:
            if now - entry.ended_at > self.window_seconds:
                raise self._late(call_id)
            if entry.sources is None:  # its first rating: the list is shared with the call while it is held
                entry.sources = []
                if call is not None:
                    call.feedback_sources = entry.sources
            sources = entry.sources
            provider, tenant = entry.provider, entry.tenant
        elif call is not None:
            if call.feedback_sources is None:
                call.feedback_sources = []
            sources = call.feedback_sources
            provider, tenant = call.provider, call.tenant
        elif recently_removed:  # its series are gone and so is its window
            raise self._late(call_id)
        else:
            raise InvalidEvent(
                "unknown_call", f"call {call_id} is unknown: feedback is accepted only for calls the exporter saw"
            )
        if source in sources:
            raise InvalidEvent("duplicate_feedback", f"call {call_id} already has feedback from {source}")
        sources.append(source)
        return provider, tenant

    def publish(
        self, call_id: str, provider: str, tenant: str, source: str, scale: str, rating: float, now: float
    ) -> None:
        self._series.append((now + self.series_seconds, call_id, provider, tenant, source, scale, rating))
        if len(self._series) > self.max_calls:
            self._series.popleft()

    def _late(self, call_id: str) -> InvalidEvent:
        return InvalidEvent(
            "feedback_too_late",
            f"call {call_id} ended more than {self.window_seconds:g} s ago: feedback is accepted for that long",
        )

    def expire(self, now: float) -> None:
        self._ended.forget_expired(now)
        series = self._series
        while series and series[0][0] <= now:
            series.popleft()

    def series(self) -> Iterator[Rating]:
        """(call_id, provider, tenant, (source, scale), rating) of every rating still published."""
        for _, call_id, provider, tenant, source, scale, rating in self._series:
            yield call_id, provider, tenant, (source, scale), rating


def platform_verdicts(successful: bool | None, sentiment: str | None) -> list[dict[str, Any]]:
    """The attrs of the feedback events a platform's post-call verdicts make: success on the thumbs scale from
    ``platform_success``, sentiment (an ``analysis`` sentiment) on the sentiment scale from ``platform_sentiment``."""
    out: list[dict[str, Any]] = []
    if successful is not None:
        out.append({"scale": "thumbs", "rating": 1 if successful else 0, "source": "platform_success"})
    if sentiment in SENTIMENT_RATINGS:
        out.append({"scale": "sentiment", "rating": SENTIMENT_RATINGS[sentiment], "source": "platform_sentiment"})
    return out
