"""The worker's health: its memory and CPU use of what it is allowed, and the calls it handles, every few seconds.

A worker is the container (or, outside one, the machine) the agent runs in, named by ``$VOICE_MONITORING_WORKER``,
else the host name: a pod's name in Kubernetes, a container's id under Docker. The label is stable for the
worker's life and ends with it; the exporter drops a worker that stops reporting after its report TTL, so the
series of replaced pods do not pile up. Not the process id: LiveKit runs each call in a process of its own, so a
per-process label would grow a series per call.

So every process of the worker reports the same figures:

- ``memory_ratio``: the cgroup v2 working set (``memory.current`` less ``inactive_file``) over ``memory.max``
  where a limit is set (what the kernel and the kubelet weigh before killing), else the machine's memory in use
  (``MemTotal - MemAvailable``) over ``MemTotal``; outside Linux, the process's peak RSS over physical memory.
- ``cpu_ratio``: the cgroup's CPU time (``cpu.stat`` ``usage_usec``) over the wall time and the quota
  (``cpu.max``) or the usable cores; without cgroup v2, the machine's busy share from ``/proc/stat``; outside
  Linux, the process's CPU time over the cores.
- ``active_calls``: the live ``CallReporter``s of all the worker's processes. Each process with calls writes
  its count to a small file in a per-user directory under the system's temporary directory, and sums the
  files of live processes.

The first started ``CallReporter`` starts a daemon thread in its process that sends a ``health`` event every
``$VOICE_MONITORING_HEALTH_INTERVAL`` seconds (default 15, 0 turns it off); when the process's last call ends it
sends one more (its calls no longer counted) and stops. Standard library only.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voice_monitoring.client.sender import EventClient, log, seconds_from_environment

if TYPE_CHECKING:
    from voice_monitoring.client.call import CallReporter

WORKER_ENV = "VOICE_MONITORING_WORKER"
INTERVAL_ENV = "VOICE_MONITORING_HEALTH_INTERVAL"
DEFAULT_INTERVAL = 15.0
MAX_INTERVAL = 300.0
MAX_WORKER_LABEL = 128
MAX_CPU_RATIO = 64.0  # the event schema's bound
CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC = Path("/proc")


def worker_name() -> str:
    name = (os.environ.get(WORKER_ENV) or socket.gethostname() or "worker").strip()
    return name[:MAX_WORKER_LABEL] or "worker"


def health_interval() -> float:
    """Seconds between health events from ``$VOICE_MONITORING_HEALTH_INTERVAL``; 0 when turned off."""
    value = seconds_from_environment(INTERVAL_ENV, DEFAULT_INTERVAL)
    if value <= 0:
        return 0.0
    return min(max(value, 0.1), MAX_INTERVAL)


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return None


def _fields(text: str | None) -> dict[str, int]:
    """``key value`` lines (memory.stat, cpu.stat, /proc/meminfo with its "kB") as integers."""
    out = {}
    for line in (text or "").splitlines():
        parts = line.replace(":", " ").split()
        if len(parts) >= 2 and parts[1].isdigit():
            out[parts[0]] = int(parts[1])
    return out


class Resources:
    """The worker's memory and CPU, read from cgroup v2 where the process is in one, else from /proc."""

    def __init__(self, cgroup_root: Path = CGROUP_ROOT, proc: Path = PROC, clock: Callable[[], float] = time.monotonic):
        self.cgroup_root, self.proc, self.clock = Path(cgroup_root), Path(proc), clock
        self.cgroup = self._own_cgroup()
        self._last_cpu: tuple[float, float] | None = None

    def _own_cgroup(self) -> Path | None:
        for line in (_read(self.proc / "self" / "cgroup") or "").splitlines():
            if line.startswith("0::"):
                path = self.cgroup_root / line[3:].strip().lstrip("/")
                if (self.cgroup_root / "cgroup.controllers").is_file() and path.is_dir():
                    return path
        return None

    def _ancestors(self) -> Iterator[Path]:
        path = self.cgroup
        while path is not None:
            yield path
            if path == self.cgroup_root or self.cgroup_root not in path.parents:
                return
            path = path.parent

    def _limited(self, file: str) -> tuple[Path, str] | None:
        """The nearest cgroup (this one or an ancestor) whose ``file`` sets a limit, and that limit."""
        for path in self._ancestors():
            text = _read(path / file)
            if text is not None and not text.strip().startswith("max"):
                return path, text.strip()
        return None

    def memory_ratio(self) -> float | None:
        limited = self._limited("memory.max")
        if limited is not None:
            path, limit = limited
            current = _read(path / "memory.current")
            if limit.isdigit() and int(limit) > 0 and current and current.strip().isdigit():
                working = int(current) - _fields(_read(path / "memory.stat")).get("inactive_file", 0)
                return min(max(working / int(limit), 0.0), 1.0)
        meminfo = _fields(_read(self.proc / "meminfo"))
        if meminfo.get("MemTotal") and "MemAvailable" in meminfo:
            return min(max(1.0 - meminfo["MemAvailable"] / meminfo["MemTotal"], 0.0), 1.0)
        return self._process_memory_ratio()

    @staticmethod
    def _process_memory_ratio() -> float | None:
        try:
            import resource

            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ImportError, ValueError, OSError):
            return None
        scale = 1 if os.uname().sysname == "Darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
        return min(peak * scale / total, 1.0) if total > 0 else None

    def _cores(self) -> float:
        try:
            return float(len(os.sched_getaffinity(0)))
        except (AttributeError, OSError):
            return float(os.cpu_count() or 1)

    def _cpu_sample(self) -> tuple[float, float]:
        """(busy, capacity): two counters whose deltas' ratio is the CPU use as a share of the allowance."""
        wall = self.clock()
        if self.cgroup is not None:
            limited = self._limited("cpu.max")
            path, cores = self.cgroup, self._cores()
            if limited is not None:
                quota, _, period = limited[1].partition(" ")
                if quota.isdigit() and period.strip().isdigit() and int(period) > 0:
                    path, cores = limited[0], int(quota) / int(period)
            usage = _fields(_read(path / "cpu.stat")).get("usage_usec")
            if usage is not None:
                return usage / 1e6, wall * cores
        stat = (_read(self.proc / "stat") or "").split("\n", 1)[0].split()
        if stat[:1] == ["cpu"] and len(stat) >= 6:
            ticks = [int(value) for value in stat[1:9]]  # user nice system idle iowait irq softirq steal
            return float(sum(ticks) - ticks[3] - ticks[4]), float(sum(ticks))
        return time.process_time(), wall * self._cores()

    def cpu_ratio(self) -> float | None:
        """The CPU use since the previous call as a share of the allowance; None on the first call."""
        busy, capacity = self._cpu_sample()
        last, self._last_cpu = self._last_cpu, (busy, capacity)
        if last is None or capacity <= last[1]:
            return None
        return min(max((busy - last[0]) / (capacity - last[1]), 0.0), MAX_CPU_RATIO)


class CallCounts:
    """The live calls of every process of this worker, shared through one small file per process."""

    def __init__(self, worker: str, directory: Path | None = None, stale_seconds: float = 3 * MAX_INTERVAL):
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in worker)
        user = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
        base = directory or Path(tempfile.gettempdir()) / f"voice-monitoring-calls-{user}"
        self.directory = base / safe
        self.stale_seconds = stale_seconds
        self.own = self.directory / str(os.getpid())

    def publish(self, count: int) -> None:
        try:
            if count <= 0:
                self.own.unlink(missing_ok=True)
                return
            self.directory.mkdir(parents=True, exist_ok=True)
            partial = self.own.with_suffix(".new")
            partial.write_text(str(count))
            os.replace(partial, self.own)
        except OSError:
            log.debug("publishing this process's call count failed", exc_info=True)

    def others(self) -> int:
        """The calls of the worker's other live processes; the files of ended processes are removed."""
        total = 0
        try:
            entries = list(self.directory.iterdir())
        except OSError:
            return 0
        now = time.time()
        for entry in entries:
            if not entry.name.isdigit() or entry == self.own:
                continue
            try:
                alive = _alive(int(entry.name)) and now - entry.stat().st_mtime < self.stale_seconds
                if alive:
                    total += int(entry.read_text() or 0)
                else:
                    entry.unlink(missing_ok=True)
            except (OSError, ValueError):
                continue
        return total


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class WorkerHealth:
    """This process's ticker: started by the first live call, stopped after the last."""

    def __init__(self, interval: float | None = None, worker: str | None = None, resources: Resources | None = None):
        self.interval = health_interval() if interval is None else interval
        self.worker = worker or worker_name()
        self.resources = resources or Resources()
        self.counts = CallCounts(self.worker)
        self._calls: weakref.WeakSet[CallReporter] = weakref.WeakSet()
        self._client: EventClient | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0

    def call_started(self, call: CallReporter) -> None:
        if self.interval <= 0:
            return
        with self._lock:
            self._calls.add(call)
            self._client = call.client
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="voice-monitoring-health", daemon=True)
                self._thread.start()

    def call_ended(self, call: CallReporter) -> None:
        with self._lock:
            self._calls.discard(call)
            if not self._calls:
                self._wake.set()

    def _run(self) -> None:
        try:
            while True:
                with self._lock:
                    calls = len(self._calls)
                self.counts.publish(calls)
                attrs: dict[str, Any] = {
                    "worker": self.worker,
                    "active_calls": min(calls + self.counts.others(), 1_000_000),
                }
                memory = self.resources.memory_ratio()
                if memory is not None:
                    attrs["memory_ratio"] = memory
                cpu = self.resources.cpu_ratio()
                if cpu is not None:
                    attrs["cpu_ratio"] = cpu
                with self._lock:
                    if calls and not self._calls:
                        continue  # the last call ended meanwhile: report that instead
                    client = self._client
                    if client is not None:  # set by the call that started the ticker
                        client.send("health", None, attrs)
                        self.sent += 1
                    if not self._calls:
                        self._thread = None
                        self._wake.clear()
                        return
                self._wake.wait(self.interval)
                self._wake.clear()
        except Exception:  # a monitoring bug must never reach the agent
            log.warning("the worker health ticker stopped", exc_info=True)
            with self._lock:
                self._thread = None


_ticker: WorkerHealth | None = None
_ticker_lock = threading.Lock()


def _forget_ticker_in_child() -> None:
    """A forked child has none of its parent's threads: it starts its own ticker with its first call."""
    global _ticker, _ticker_lock
    _ticker, _ticker_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_ticker_in_child)


def ticker() -> WorkerHealth:
    """The process's ticker, configured from the environment on first use."""
    global _ticker
    with _ticker_lock:
        if _ticker is None:
            _ticker = WorkerHealth()
        return _ticker


def configure(interval: float | None = None, worker: str | None = None) -> WorkerHealth:
    """Replace the process's ticker (before the first call): ``interval`` seconds (0 off), ``worker`` label."""
    global _ticker
    with _ticker_lock:
        _ticker = WorkerHealth(interval=interval, worker=worker)
        return _ticker
