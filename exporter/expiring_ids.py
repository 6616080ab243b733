"""Ids remembered for a while, at most so many, each optionally with a value.

The one structure behind every "have I seen this recently?" of the exporter: event ids, so a retried event
counts once; the ids of calls removed, with how they left, so a late event neither brings an ended call back
nor counts a quiet one twice; the reports a webhook receiver applied, and the calls whose start it took live.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import repeat
from typing import Generic, TypeVar

# A set or dict keeps the table it grew to when entries go; one that held more than this and now holds under
# a quarter of it is copied into a table sized for what is left.
COMPACT_ABOVE = 10_000

V = TypeVar("V")


class ExpiringIds(Generic[V]):
    """Ids, each remembered until a given time, at most ``max_ids`` at once.

    Remembering an id again moves its time.  When the bound is reached the id remembered longest ago is forgotten
    early and ``on_evict`` is called.  Ids are forgotten in the order they were remembered, so the times given
    should not decrease (a time that does waits for the ones before it).
    """

    def __init__(self, max_ids: int, on_evict: Callable[[], None] | None = None):
        if max_ids < 1:
            raise ValueError(f"at least one id must be remembered, not {max_ids}")
        self.max_ids = max_ids
        self._on_evict = on_evict
        self._until: dict[str, float] = {}
        self._values: dict[str, V] = {}
        # (forget at, the ids remembered then, last first) in the order remembered: one entry for a batch, so an id
        # costs its table slot and one reference; an id remembered again later leaves a stale reference, skipped
        self._order: deque[tuple[float, list[str]]] = deque()
        self._queued = 0  # references in ``_order``
        self._peak = 0  # most ids held since the tables were last compacted

    def __contains__(self, key: str) -> bool:
        return key in self._until

    def __len__(self) -> int:
        return len(self._until)

    def get(self, key: str) -> V | None:
        return self._values.get(key)

    @property
    def contains(self) -> Callable[[str], bool]:
        """``key in self`` as a function, cheaper in a loop over many ids; take it again after ``forget_expired``,
        which may replace the table it reads."""
        return self._until.__contains__

    def remember(self, key: str, until: float, value: V | None = None) -> None:
        """Remember ``key`` (with ``value``) until ``until``."""
        if value is not None:
            self._values[key] = value
        elif self._values:
            self._values.pop(key, None)
        self._until[key] = until
        self._order.append((until, [key]))
        self._queued += 1
        self._bound()

    def remember_all(self, keys: Sequence[str], until: float) -> None:
        """Remember each of ``keys`` (distinct), without a value, until ``until``: ``remember`` for a batch."""
        if self._values:
            for key in keys:
                self._values.pop(key, None)
        if not keys:
            return
        self._until.update(zip(keys, repeat(until)))
        self._order.append((until, list(reversed(keys))))
        self._queued += len(keys)
        self._bound()

    def _bound(self) -> None:
        known, order = self._until, self._order
        held = len(known)
        if held > self._peak:
            self._peak = held
        if held > self.max_ids:
            while len(known) > self.max_ids:
                self._drop_oldest()
                if self._on_evict is not None:
                    self._on_evict()
        if self._queued > 2 * self.max_ids:  # an id remembered again and again leaves stale references behind
            self._order = deque()
            for at, keys in order:
                live = [k for k in keys if known.get(k) == at]
                if live:
                    self._order.append((at, live))
            self._queued = sum(len(keys) for _, keys in self._order)

    def pop(self, key: str) -> V | None:
        """Forget ``key`` now; returns its value."""
        self._until.pop(key, None)
        return self._values.pop(key, None)

    def forget_expired(self, now: float) -> None:
        order = self._order
        if not order or order[0][0] > now:
            return
        known, values = self._until, self._values
        while order and order[0][0] <= now:
            until, keys = order.popleft()
            self._queued -= len(keys)
            for key in keys:
                if known.get(key) == until:
                    del known[key]
                    values.pop(key, None)
        if len(known) * 4 < self._peak and self._peak > COMPACT_ABOVE:
            self._until = dict(known)
            self._values = dict(values)
            self._peak = len(known)

    def _drop_oldest(self) -> None:
        order, known = self._order, self._until
        while order:
            until, keys = order[0]
            while keys:
                key = keys.pop()
                self._queued -= 1
                if known.get(key) == until:
                    del known[key]
                    self._values.pop(key, None)
                    return
            order.popleft()

    def entries(self) -> list[tuple[float, str, V | None]]:
        """(forget at, id, value) of every remembered id, oldest first."""
        return list(self)

    def __iter__(self) -> Iterator[tuple[float, str, V | None]]:
        known, values = self._until, self._values
        for until, keys in self._order:
            for key in reversed(keys):
                if known.get(key) == until:
                    yield until, key, values.get(key)

    def restore(self, entries: Iterable[tuple[float, str, V | None]], now: float) -> None:
        """Remember entries written by ``entries`` again, skipping those already past."""
        for until, key, value in entries:
            if until > now and key not in self._until:
                self.remember(key, until, value)
