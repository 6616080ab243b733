"""An in-process Exporter on a clock the test moves by hand."""

from __future__ import annotations

from voice_monitoring.exporter.core import Exporter, Limits


class Clock:
    """Wall-clock seconds that advance only when a test adds to ``now``."""

    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        return self.now


def make(clock: Clock, **limits) -> Exporter:
    """An Exporter with a 120 s grace period and a 600 s idle timeout unless ``limits`` says otherwise."""
    return Exporter(Limits(**{"grace_seconds": 120, "idle_seconds": 600, **limits}), clock=clock)
