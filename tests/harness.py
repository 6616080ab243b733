"""Starting the stack's real processes on loopback ports for tests, and always stopping them."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
import yaml

from scripts.processes import Service

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ALERTMANAGER_BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_http_message(sock: socket.socket) -> bytes | None:
    """One HTTP request or answer with a Content-Length body read whole from ``sock``; None if it closes first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")), 0
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head + b"\r\n\r\n" + body


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.2, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; return that, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            result = predicate()
            if result:
                return result
        except Exception as exc:  # the service may not be up yet
            last_error = exc
        time.sleep(interval)
    raise AssertionError(
        f"timed out after {timeout}s waiting for {what}" + (f" (last error: {last_error})" if last_error else "")
    )


def local_service(
    name: str,
    argv: list[str],
    port: int,
    ready_path: str,
    log_dir: Path,
    env: dict | None = None,
    http: requests.Session | None = None,
) -> Service:
    """A process answering on 127.0.0.1:``port``, logging to ``log_dir``; not started yet. With ``http`` (a session
    holding the CA and credentials) it is served over HTTPS."""
    url = f"{'https' if http else 'http'}://127.0.0.1:{port}"
    return Service(name, argv, url, ready_path, Path(log_dir) / f"{name}-{port}.log", env, http=http)


def start_exporter(tmp_path: Path, *flags: str, env: dict | None = None) -> Service:
    port = free_port()
    argv = [str(BIN / "voice-exporter"), "--listen-address", "127.0.0.1", "--port", str(port), *flags]
    return local_service("exporter", argv, port, "/ready", tmp_path, env).start()


def start_scorer(tmp_path: Path, prometheus_url: str, *flags: str, env: dict | None = None) -> Service:
    port = free_port()
    argv = [
        str(BIN / "voice-scorer"),
        "--prometheus-url",
        prometheus_url,
        "--listen-address",
        "127.0.0.1",
        "--port",
        str(port),
        *flags,
    ]
    return local_service("scorer", argv, port, "/health", tmp_path, env).start()


def prometheus_config(
    targets: dict[str, list[str]],
    rule_files: list[str] | None = None,
    interval: str = "1s",
    alertmanagers: list[str] | None = None,
) -> dict:
    """A Prometheus configuration scraping ``targets`` ({job: [host:port]}) every ``interval``."""
    config = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": hosts}]} for job, hosts in targets.items()],
    }
    if rule_files:
        config["rule_files"] = [str(Path(f).resolve()) for f in rule_files]
    if alertmanagers:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": alertmanagers}]}]}
    return config


def start_prometheus(tmp_path: Path, config: dict, *flags: str, http: requests.Session | None = None) -> Service:
    port = free_port()
    workdir = Path(tmp_path) / f"prometheus-{port}"
    workdir.mkdir(parents=True)
    config_path = workdir / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config))
    argv = [
        "prometheus",
        f"--config.file={config_path}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-lifecycle",
        *flags,
    ]
    return local_service("prometheus", argv, port, "/-/ready", tmp_path, http=http).start(timeout=60)


def start_alertmanager(
    tmp_path: Path, config_path: Path | str, *flags: str, http: requests.Session | None = None
) -> Service:
    if ALERTMANAGER_BINARY is None:
        raise RuntimeError("prometheus-alertmanager is not installed (run scripts/install-deps.sh)")
    port = free_port()
    workdir = Path(tmp_path) / f"alertmanager-{port}"
    workdir.mkdir(parents=True)
    argv = [
        ALERTMANAGER_BINARY,
        f"--config.file={config_path}",
        f"--storage.path={workdir}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
        *flags,
    ]
    return local_service("alertmanager", argv, port, "/-/ready", tmp_path, http=http).start()


def query(prom_url: str, expr: str, at: float | None = None, http: requests.Session | None = None) -> list:
    """Result of an instant query (through ``http``, a session with credentials, if given); raises on an error."""
    params = {"query": expr}
    if at is not None:
        params["time"] = at
    response = (http or requests).get(f"{prom_url}/api/v1/query", params=params, timeout=10)
    body = response.json()
    if body.get("status") != "success":
        raise AssertionError(f"query {expr!r} failed: {body.get('error')}")
    return body["data"]["result"]


def post_events(exporter_url: str, events, token: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(f"{exporter_url}/v1/events", json=events, headers=headers, timeout=10)


def promtool_lint(exposition: str) -> str:
    """What ``promtool check metrics`` says of an exposition: empty when it parses and has no lint advice."""
    check = subprocess.run(["promtool", "check", "metrics"], input=exposition.encode(), capture_output=True)
    return (check.stdout + check.stderr).decode() + (f"(exit {check.returncode})" if check.returncode else "")
