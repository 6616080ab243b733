"""Worker health from live calls: the ticker against a real exporter, and the figures against the kernel's own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid

import pytest

from tests.harness import wait_for
from voice_monitoring.client import EventClient, worker_health
from voice_monitoring.client.call import CallReporter
from voice_monitoring.client.worker_health import Resources

ACTIVE = "ai_agent_worker_active_calls"
MEMORY = "ai_agent_worker_memory_ratio"
CPU = "ai_agent_worker_cpu_ratio"


@pytest.fixture
def ticker(monkeypatch):
    """This process's ticker at a fast interval under a worker name of its own; the usual one afterwards."""
    monkeypatch.setattr(worker_health, "_ticker", None)
    health = worker_health.configure(interval=0.2, worker=f"test-worker-{uuid.uuid4().hex[:8]}")
    yield health
    wait_for(lambda: health._thread is None, 5, what="the ticker stopped")
    assert not health.counts.own.exists()
    health.counts.directory.rmdir()  # empty: every process of the test's worker has ended its calls


def metric(exporter, name: str, worker: str) -> float | None:
    import requests
    from prometheus_client.parser import text_string_to_metric_families

    text = requests.get(f"{exporter.url}/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels.get("worker") == worker:
                return sample.value
    return None


def test_live_calls_start_the_ticker_and_the_last_end_reports_zero_and_stops_it(exporter, ticker):
    worker = ticker.worker
    with EventClient(exporter.url, flush_interval=0.05) as client:
        first = CallReporter(client, call_id="wh-1")
        second = CallReporter(client, call_id="wh-2")
        first.start()
        wait_for(lambda: metric(exporter, ACTIVE, worker) == 1, 5, what="one active call")
        second.start()
        wait_for(lambda: metric(exporter, ACTIVE, worker) == 2, 5, what="two active calls")
        wait_for(lambda: metric(exporter, CPU, worker) is not None, 5, what="a CPU ratio")
        assert 0 < metric(exporter, MEMORY, worker) <= 1
        first.end("user hung up")
        wait_for(lambda: metric(exporter, ACTIVE, worker) == 1, 5, what="one call left")
        second.end("user hung up")
        wait_for(lambda: metric(exporter, ACTIVE, worker) == 0, 5, what="the last call's end reported")
        wait_for(lambda: ticker._thread is None, 5, what="the ticker stopped")
        sent = ticker.sent
        time.sleep(0.6)
        assert ticker.sent == sent  # no calls, no events
        assert client.flush(5) and client.stats()["rejected"] == 0


def test_calls_in_the_workers_other_processes_are_counted_and_forgotten_when_they_die(exporter, ticker):
    worker = ticker.worker
    code = (
        "import time\n"
        "from voice_monitoring.client import worker_health\n"
        "from voice_monitoring.client.call import CallReporter\n"
        "call = CallReporter(call_id='other-process')\n"
        "call.start()\n"
        "time.sleep(60)\n"
    )
    env = {
        **os.environ,
        "VOICE_MONITORING_URL": exporter.url,
        "VOICE_MONITORING_WORKER": worker,
        "VOICE_MONITORING_HEALTH_INTERVAL": "0.2",
    }
    other = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        with EventClient(exporter.url, flush_interval=0.05) as client:
            call = CallReporter(client, call_id="here")
            call.start()
            wait_for(lambda: metric(exporter, ACTIVE, worker) == 2, 15, what="both processes' calls")
            other.kill()
            other.wait(10)
            wait_for(lambda: metric(exporter, ACTIVE, worker) == 1, 5, what="the dead process's call forgotten")
            call.end("user hung up")
            wait_for(lambda: metric(exporter, ACTIVE, worker) == 0, 5, what="no calls")
    finally:
        other.kill()
        other.wait(10)


def test_an_interval_of_zero_turns_the_ticker_off(exporter, monkeypatch):
    monkeypatch.setattr(worker_health, "_ticker", None)
    monkeypatch.setenv(worker_health.INTERVAL_ENV, "0")
    with EventClient(exporter.url) as client:
        call = CallReporter(client, call_id="off-1")
        call.start()
        call.end("user hung up")
        assert client.flush(5)
        assert client.stats()["sent"] == 2  # call.started and call.ended only
    assert worker_health.ticker()._thread is None


def test_the_figures_are_the_kernels_where_no_cgroup_limits_the_worker():
    psutil = pytest.importorskip("psutil")
    resources = Resources()
    if resources.cgroup is not None:
        pytest.skip("this process is in a cgroup v2: its figures are the cgroup's (see the next test)")
    memory = psutil.virtual_memory()
    assert resources.memory_ratio() == pytest.approx(1 - memory.available / memory.total, abs=0.02)
    assert resources.cpu_ratio() is None  # nothing to compare with yet
    psutil.cpu_percent()
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(1.0)
        ours = resources.cpu_ratio()
        theirs = psutil.cpu_percent() / 100
    finally:
        burner.kill()
        burner.wait(10)
    assert ours == pytest.approx(theirs, abs=0.1)
    assert ours >= 0.9 / psutil.cpu_count()  # the burner's core at least


def test_the_figures_of_a_cgroup_v2_worker_are_its_limits(tmp_path):
    """A cgroup v2 tree in the kernel's file formats: the worker's cgroup has the limits, its child the process."""
    root = tmp_path / "cgroup"
    worker = root / "kubepods" / "pod-1"
    own = worker / "agent"
    own.mkdir(parents=True)
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (own / "memory.max").write_text("max\n")
    (own / "cpu.max").write_text("max 100000\n")
    (worker / "memory.max").write_text("1000000000\n")
    (worker / "memory.current").write_text("600000000\n")
    (worker / "memory.stat").write_text("anon 400000000\nfile 200000000\ninactive_file 100000000\n")
    (worker / "cpu.max").write_text("50000 100000\n")  # half a core
    (worker / "cpu.stat").write_text("usage_usec 1000000\nuser_usec 800000\nsystem_usec 200000\n")
    proc = tmp_path / "proc"
    (proc / "self").mkdir(parents=True)
    (proc / "self" / "cgroup").write_text("0::/kubepods/pod-1/agent\n")
    now = [100.0]
    resources = Resources(cgroup_root=root, proc=proc, clock=lambda: now[0])
    assert resources.cgroup == own
    assert resources.memory_ratio() == pytest.approx((600e6 - 100e6) / 1e9)
    assert resources.cpu_ratio() is None
    now[0] += 2.0
    (worker / "cpu.stat").write_text("usage_usec 1800000\nuser_usec 1400000\nsystem_usec 400000\n")
    # 0.8 s of CPU in 2 s against half a core
    assert resources.cpu_ratio() == pytest.approx(0.8 / (2.0 * 0.5))


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [(None, 15.0), ("", 15.0), ("abc", 15.0), ("0", 0.0), ("-3", 0.0), ("nan", 15.0), ("0.01", 0.1), ("30", 30.0),
     ("86400", 300.0)],
)  # fmt: skip
def test_the_interval_from_the_environment_is_bounded(monkeypatch, raw, seconds):
    if raw is None:
        monkeypatch.delenv(worker_health.INTERVAL_ENV, raising=False)
    else:
        monkeypatch.setenv(worker_health.INTERVAL_ENV, raw)
    assert worker_health.health_interval() == seconds


def test_the_worker_is_named_by_the_environment_else_the_host(monkeypatch):
    monkeypatch.setenv(worker_health.WORKER_ENV, "  agent-pool-3  ")
    assert worker_health.worker_name() == "agent-pool-3"
    monkeypatch.delenv(worker_health.WORKER_ENV)
    assert worker_health.worker_name() == socket.gethostname()
