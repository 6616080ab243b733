"""What the demo's local notification endpoints share: a server on a thread that keeps and prints what it gets."""

from __future__ import annotations

import threading
from typing import TextIO


class LocalInbox:
    """Serves ``server`` on a thread; handlers call ``record`` with each item received."""

    def __init__(self, server, out: TextIO | None, thread_name: str):
        self._lock = threading.Lock()
        self._items: list = []
        self._out = out
        self._server = server
        self._server.daemon_threads = True
        self._thread_name = thread_name
        self._thread: threading.Thread | None = None

    def items(self) -> list:
        with self._lock:
            return list(self._items)

    def record(self, item, line: str) -> None:
        """Keep ``item`` and print ``line`` (one line per item, never interleaved)."""
        with self._lock:
            self._items.append(item)
            if self._out is not None:
                self._out.write(line + "\n")
                self._out.flush()

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever, name=self._thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)
