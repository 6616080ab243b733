"""Supervising the stack's child processes: start one, wait until it answers HTTP, always stop it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


class Service:
    """A child process answering HTTP at ``url``; a context manager that always stops it.

    ``start()`` waits until ``url + ready_path`` answers 200 and fails with the log's tail when the process exits
    first or is not ready in time.  ``stop()`` sends SIGTERM, then SIGKILL if the process lingers.
    """

    def __init__(
        self,
        name: str,
        argv: list[str],
        url: str,
        ready_path: str,
        log_path: Path,
        env: dict | None = None,
        own_session: bool = False,
        http: requests.Session | None = None,
    ):
        self.name, self.argv, self.url, self.ready_path = name, argv, url, ready_path
        self.port = int(url.rsplit(":", 1)[1])
        self.log_path = Path(log_path)
        self.env = env
        # A session of its own keeps Ctrl-C at the parent, which then stops its children in order.
        self.own_session = own_session
        self.process: subprocess.Popen | None = None
        # Readiness probes go through ``http`` when the service wants TLS or credentials.
        self.http = http or requests.Session()

    def start(self, timeout: float = 60.0) -> Service:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                env={**os.environ, **(self.env or {})},
                start_new_session=self.own_session,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}; see {self.log_path}:\n" + self.log_tail()
                )
            try:
                if self.http.get(self.url + self.ready_path, timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"{self.name} not ready on {self.url} after {timeout:.0f}s; see {self.log_path}:\n" + self.log_tail()
        )

    def log_tail(self, size: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-size:]
        except OSError:
            return ""

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if not self.running():
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)

    def __enter__(self) -> Service:
        return self if self.process is not None else self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
