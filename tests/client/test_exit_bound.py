"""An agent whose exporter is unreachable exits promptly: the exit hook's wait is bounded and configurable."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from tests.harness import free_port


def exit_delay(url: str, env: dict | None = None, client_args: str = "") -> float:
    """Seconds between an agent's last statement and its process's end, with an event queued for ``url``."""
    code = (
        "import time\n"
        "from voice_monitoring.client import EventClient\n"
        f"client = EventClient({url!r}{client_args})\n"
        "client.send('turn', 'exit-1', {'latency_seconds': 0.5})\n"
        "print(time.time(), flush=True)\n"
    )
    environment = {k: v for k, v in os.environ.items() if k != "VOICE_MONITORING_EXIT_TIMEOUT"}
    environment.update(env or {})
    process = subprocess.Popen([sys.executable, "-c", code], env=environment, stdout=subprocess.PIPE, text=True)
    last_statement = float(process.stdout.readline())
    process.wait(30)
    assert process.returncode == 0
    return time.time() - last_statement


@pytest.fixture
def silent_exporter():
    """A port that takes connections and never answers: the client's request hangs until its own timeout."""
    with socket.create_server(("127.0.0.1", 0), backlog=16) as listener:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_an_unreachable_exporter_delays_the_exit_by_at_most_a_second():
    assert exit_delay(f"http://127.0.0.1:{free_port()}") < 1.5


def test_an_exporter_that_never_answers_delays_the_exit_by_at_most_a_second(silent_exporter):
    assert exit_delay(silent_exporter) < 1.5


def test_the_exit_bound_comes_from_the_environment_or_the_client(silent_exporter):
    assert exit_delay(silent_exporter, env={"VOICE_MONITORING_EXIT_TIMEOUT": "0"}) < 0.5
    # a longer bound is waited for: the request hangs, the client gives it the time it was allowed
    assert 2.0 <= exit_delay(silent_exporter, client_args=", exit_timeout=2.5") < 3.5


@pytest.mark.parametrize(
    ("raw", "seconds"), [("", 1.0), ("abc", 1.0), ("-1", 1.0), ("1e9", 1.0), ("2.5", 2.5), ("0", 0.0)]
)
def test_the_exit_bound_from_the_environment_is_a_number_of_seconds(monkeypatch, raw, seconds):
    from voice_monitoring.client.sender import exit_timeout_from_environment

    monkeypatch.setenv("VOICE_MONITORING_EXIT_TIMEOUT", raw)
    assert exit_timeout_from_environment() == seconds


def test_a_negative_exit_bound_is_refused():
    from voice_monitoring.client import EventClient

    with pytest.raises(ValueError, match="exit_timeout"):
        EventClient(f"http://127.0.0.1:{free_port()}", exit_timeout=-1)
