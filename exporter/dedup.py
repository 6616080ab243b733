"""Ids remembered for a while, at most so many: event ids, so a retried event counts once, and the ids of
removed calls, so a late event does not bring one back."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable


class ExpiringIds:
    """Ids, each remembered until a given time; at most ``max_ids`` at once.

    When the bound is reached the id remembered first is forgotten early and ``on_evict`` is called.
    """

    def __init__(self, max_ids: int, on_evict: Callable[[], None] = lambda: None):
        self.max_ids = max_ids
        self._on_evict = on_evict
        self._ids: set[str] = set()
        self._order: deque[tuple[float, str]] = deque()  # (forget at, id), in the order remembered

    def __contains__(self, event_id: str) -> bool:
        return event_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def remember(self, event_id: str, until: float) -> None:
        self._ids.add(event_id)
        self._order.append((until, event_id))
        if len(self._order) > self.max_ids:
            self._ids.discard(self._order.popleft()[1])
            self._on_evict()

    def forget_expired(self, now: float) -> None:
        order = self._order
        while order and order[0][0] <= now:
            self._ids.discard(order.popleft()[1])

    def entries(self) -> list[tuple[float, str]]:
        """(forget at, id) of every remembered id, oldest first."""
        return list(self._order)

    def restore(self, entries: Iterable[tuple[float, str]], now: float) -> None:
        for until, event_id in entries:
            if until > now and event_id not in self._ids:
                self.remember(event_id, until)
