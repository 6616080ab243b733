"""Label folding: each label keeps at most N distinct values, the rest become ``other``."""

from __future__ import annotations

OTHER = "other"
UNKNOWN = "unknown"


class LabelLimiter:
    def __init__(self, limit: int, on_fold):
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

    def of_event(self, event: dict, key: str, call=None) -> str:
        """The event's ``key`` label, folded; inherited from its call when the event omits it, else unknown."""
        value = event.get(key)
        if value is None:
            return getattr(call, key) if call is not None else UNKNOWN
        return self(key, value)
