"""Does the score agree with callers?  Each call's final score paired with its feedback, and per provider over a
rolling window: the ROC AUC of the score against negative feedback, the mean rating by quality band, and how many
ratings each figure rests on.

Memory is bounded three ways: final scores are kept only as long as feedback is accepted after a call's end (and
at most ``max_calls``), ratings read before their call's final score wait as long (at most ``max_calls``), and each
provider keeps at most ``max_pairs`` pairs, the oldest dropped first, besides the window.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from voice_monitoring.shared import quality_bands
from voice_monitoring.shared.feedback import FEEDBACK_WINDOW_SECONDS, SCALES

# A rating as the scorer reads it: (call_id, source, scale, rating).
Rating = tuple[str, str, str, float]


@dataclass(frozen=True)
class Pair:
    at: float
    score: float
    band: int
    satisfaction: float  # the rating on 0 (worst on its scale) to 1 (best)
    negative: bool


def auc(pairs: Iterable[Pair]) -> float | None:
    """ROC AUC of the score against negative feedback: the chance that a call rated other than negatively scored
    higher than a call rated negatively, ties counting half (the Mann-Whitney U over the product of the counts).
    None without both kinds of rating."""
    ordered = sorted(pairs, key=lambda p: p.score)
    negatives = sum(1 for p in ordered if p.negative)
    others = len(ordered) - negatives
    if not negatives or not others:
        return None
    rank_sum = 0.0  # ranks (1-based, ties averaged) of the calls rated other than negatively
    i = 0
    while i < len(ordered):
        j = i
        while j < len(ordered) and ordered[j].score == ordered[i].score:
            j += 1
        mean_rank = (i + 1 + j) / 2.0
        rank_sum += mean_rank * sum(1 for p in ordered[i:j] if not p.negative)
        i = j
    return (rank_sum - others * (others + 1) / 2.0) / (others * negatives)


@dataclass
class Figures:
    """One provider's calibration over the window; a figure below its minimum sample is None."""

    pairs: int
    negatives: int
    auc: float | None
    band_pairs: dict[int, int] = field(default_factory=dict)
    mean_rating: dict[int, float | None] = field(default_factory=dict)


def figures(pairs: list[Pair], min_samples: int, bands: Iterable[int]) -> Figures:
    """The figures of ``pairs``: the AUC from ``min_samples`` pairs with a tenth of them of each kind (negative and
    not), a band's mean rating from a fifth of ``min_samples`` pairs in the band."""
    negatives = sum(1 for p in pairs if p.negative)
    min_kind = max(1, min_samples // 10)
    enough = len(pairs) >= min_samples and min(negatives, len(pairs) - negatives) >= min_kind
    out = Figures(len(pairs), negatives, auc(pairs) if enough else None)
    min_band = max(1, min_samples // 5)
    for band in bands:
        ratings = [p.satisfaction for p in pairs if p.band == band]
        out.band_pairs[band] = len(ratings)
        out.mean_rating[band] = sum(ratings) / len(ratings) if len(ratings) >= min_band else None
    return out


# (observed at, provider, score or None when unscored, band, sources paired)
FinalScore = tuple[float, str, float | None, int | None, list[str]]


class Calibration:
    def __init__(
        self,
        window_seconds: float = 86400.0,
        min_samples: int = 50,
        feedback_window_seconds: float = FEEDBACK_WINDOW_SECONDS,
        max_pairs: int = 10_000,
        max_calls: int = 100_000,
        sources: Iterable[str] | None = None,
        bands: Iterable[int] = quality_bands.LEVELS,
        on_outcome: Callable[[str], None] = lambda outcome: None,
    ):
        self.window_seconds = window_seconds
        self.min_samples = min_samples
        self.feedback_window_seconds = feedback_window_seconds
        self.max_pairs = max_pairs
        self.max_calls = max_calls
        self.sources = frozenset(sources) if sources is not None else None
        self.bands = tuple(bands)
        self.on_outcome = on_outcome
        # oldest first
        self._finals: dict[str, FinalScore] = {}
        # call_id -> {source: (read at, scale, rating)}: ratings read before the call's final score, oldest first
        self._waiting: dict[str, dict[str, tuple[float, str, float]]] = {}
        self._pairs: dict[str, deque[Pair]] = {}
        self.published: dict[str, Figures] = {}

    def final(self, call_id: str, provider: str, score: float | None, band: int | None, now: float) -> None:
        """A call's final score (None: the call is not calibrated: too few turns, or promoted out of the sample)."""
        if call_id in self._finals:
            return
        entry: FinalScore = (now, provider, score, band, [])
        self._finals[call_id] = entry
        if len(self._finals) > self.max_calls:
            del self._finals[next(iter(self._finals))]
            self.on_outcome("forgotten")
        for source, (_, scale, rating) in self._waiting.pop(call_id, {}).items():
            self._pair(entry, source, scale, rating, now)

    def feedback(self, ratings: Iterable[Rating], now: float) -> None:
        """The ratings published now; each (call, source) is taken once."""
        for call_id, source, scale, rating in ratings:
            if scale not in SCALES or (self.sources is not None and source not in self.sources):
                continue
            entry = self._finals.get(call_id)
            if entry is not None:
                if source not in entry[4]:
                    self._pair(entry, source, scale, rating, now)
                continue
            waiting = self._waiting.get(call_id)
            if waiting is None:
                waiting = self._waiting[call_id] = {}
                if len(self._waiting) > self.max_calls:
                    del self._waiting[next(iter(self._waiting))]
                    self.on_outcome("forgotten")
            waiting.setdefault(source, (now, scale, rating))

    def _pair(self, entry: FinalScore, source: str, scale: str, rating: float, now: float) -> None:
        _, provider, score, band, paired = entry
        paired.append(source)
        if score is None or band is None:  # a score always has its band
            self.on_outcome("unscored")
            return
        s = SCALES[scale]
        pairs = self._pairs.get(provider)
        if pairs is None:
            pairs = self._pairs[provider] = deque(maxlen=self.max_pairs)
        pairs.append(Pair(now, score, band, s.satisfaction(rating), s.negative(rating)))
        self.on_outcome("paired")

    def update(self, now: float) -> dict[str, Figures]:
        """Forget what fell out of the windows and compute every provider's figures."""
        keep_finals = now - self.feedback_window_seconds
        while self._finals:
            call_id = next(iter(self._finals))
            if self._finals[call_id][0] >= keep_finals:
                break
            del self._finals[call_id]
        while self._waiting:
            call_id = next(iter(self._waiting))
            waiting = self._waiting[call_id]
            if min(at for at, _, _ in waiting.values()) >= keep_finals:
                break
            del self._waiting[call_id]
            for _ in waiting:
                self.on_outcome("expired")
        cutoff = now - self.window_seconds
        for provider in list(self._pairs):
            pairs = self._pairs[provider]
            while pairs and pairs[0].at < cutoff:
                pairs.popleft()
            if not pairs:
                del self._pairs[provider]
        self.published = {
            provider: figures(list(pairs), self.min_samples, self.bands) for provider, pairs in self._pairs.items()
        }
        return self.published
