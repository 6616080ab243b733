"""The exporter's one sweep, owned by its service: every ``sweep_seconds`` it expires what has outlived its time
(calls past their grace period or idle timeout, event ids and removed-call ids past the retry window, feedback
windows, last-reported gauges) and every ``checkpoint_seconds`` it writes the state file, so ``kill -9`` loses at
most that interval.  On shutdown it stops, then writes the state a last time."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

from voice_monitoring.exporter import state_file
from voice_monitoring.exporter.core import Exporter

log = logging.getLogger("voice-exporter")


class Housekeeping:
    def __init__(
        self,
        exporter: Exporter,
        sweep_seconds: float = 1.0,
        state_path: str | Path | None = None,
        checkpoint_seconds: float = 5.0,
    ):
        self.exporter = exporter
        self.sweep_seconds = sweep_seconds
        self.state_path = state_path
        self.checkpoint_seconds = checkpoint_seconds  # 0: the state is written on shutdown only
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="housekeeping", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop sweeping and write the state a last time."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.state_path:
            calls = state_file.save(self.exporter, self.state_path)
            log.info("saved %d calls to %s", calls, self.state_path)

    def _run(self) -> None:
        checkpoint_due = time.monotonic()
        while True:
            self.exporter.sweep()
            if self.state_path and self.checkpoint_seconds > 0 and time.monotonic() >= checkpoint_due:
                self._checkpoint(self.state_path)
                checkpoint_due = time.monotonic() + self.checkpoint_seconds
            if self._stop.wait(self.sweep_seconds):
                return

    def _checkpoint(self, path: str | Path) -> None:
        """Write the state file; a failed write is logged and tried again at the next checkpoint."""
        began = time.perf_counter()
        try:
            calls = state_file.save(self.exporter, path)
        except (OSError, sqlite3.Error) as exc:
            log.error("cannot checkpoint the state to %s: %s", path, exc)
        else:
            log.debug("checkpointed %d calls to %s in %.3fs", calls, path, time.perf_counter() - began)
