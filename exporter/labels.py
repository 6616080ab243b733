"""Label folding: each label keeps at most N distinct values, the rest become ``other``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

OTHER = "other"
UNKNOWN = "unknown"


class LabelLimiter:
    def __init__(self, limit: int, on_fold: Callable[[str], object]):
        self.limit = limit
        self._seen: dict[str, set[str]] = {}
        self._on_fold = on_fold  # called with the label name each time a value is folded

    def __call__(self, label: str, value: str) -> str:
        seen = self._seen.get(label)
        if seen is None:
            seen = self._seen[label] = set()
        if value in seen:
            return value
        if len(seen) < self.limit:
            seen.add(value)
            return value
        self._on_fold(label)
        return OTHER

    def of_event(self, event: Mapping[str, Any], key: str, call: object = None) -> str:
        """The event's ``key`` label, folded; inherited from its call when the event omits it, else unknown."""
        value = event.get(key)
        if value is None:
            if call is None:
                return UNKNOWN
            inherited: str = getattr(call, key)
            return inherited
        return self(key, value)
