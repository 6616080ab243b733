"""Ids remembered for a while, at most so many: event ids, so a retried event counts once, and the ids of
removed calls, so a late event does not bring one back."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

# A set or dict keeps the table it grew to when entries go; one that held more than this and now holds under
# a quarter of it is copied into a table sized for what is left.
COMPACT_ABOVE = 10_000


class ExpiringIds:
    """Ids, each remembered until a given time; at most ``max_ids`` at once.

    When the bound is reached the id remembered first is forgotten early and ``on_evict`` is called.
    """

    def __init__(self, max_ids: int, on_evict: Callable[[], None] = lambda: None):
        self.max_ids = max_ids
        self._on_evict = on_evict
        self._ids: set[str] = set()
        self._order: deque[tuple[float, str]] = deque()  # (forget at, id), in the order remembered
        self._peak = 0  # most ids held since the set was last compacted

    def __contains__(self, event_id: str) -> bool:
        return event_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def remember(self, event_id: str, until: float) -> None:
        self._ids.add(event_id)
        if len(self._ids) > self._peak:
            self._peak = len(self._ids)
        self._order.append((until, event_id))
        if len(self._order) > self.max_ids:
            self._ids.discard(self._order.popleft()[1])
            self._on_evict()

    def forget_expired(self, now: float) -> None:
        order = self._order
        if not order or order[0][0] > now:
            return
        while order and order[0][0] <= now:
            self._ids.discard(order.popleft()[1])
        if len(self._ids) * 4 < self._peak and self._peak > COMPACT_ABOVE:
            self._ids = set(self._ids)
            self._peak = len(self._ids)

    def entries(self) -> list[tuple[float, str]]:
        """(forget at, id) of every remembered id, oldest first."""
        return list(self._order)

    def restore(self, entries: Iterable[tuple[float, str]], now: float) -> None:
        for until, event_id in entries:
            if until > now and event_id not in self._ids:
                self.remember(event_id, until)
