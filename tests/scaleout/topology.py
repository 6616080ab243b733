"""The scale-out topology on loopback: a Prometheus pair writing into VictoriaMetrics, an Alertmanager cluster.

Every process is a ``Service`` (always stopped by its context manager). Intervals are shortened so a test runs
in seconds: scrape and evaluation every second, and Alertmanager peers one ``PEER_TIMEOUT`` apart.
"""

from __future__ import annotations

import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from scripts.processes import Service
from tests.harness import (
    ALERTMANAGER_BINARY,
    free_port,
    local_service,
    prometheus_config,
    start_prometheus,
    wait_for,
)

VICTORIA_METRICS_BINARY = "victoria-metrics"
SCRAPE_INTERVAL = 1.0
PEER_TIMEOUT = 2.0
PEERS = 3
REPLICAS = ("a", "b")
GROUP_WAIT = 1.0
GROUP_INTERVAL = 6.0
# After the first notification of a group, how long a repeat from a later peer could still take to arrive.
REPEAT_WINDOW = PEERS * PEER_TIMEOUT + GROUP_INTERVAL + 2


def victoria_metrics_argv(workdir: Path, port: int, *flags: str) -> list[str]:
    return [
        VICTORIA_METRICS_BINARY,
        f"-httpListenAddr=127.0.0.1:{port}",
        f"-storageDataPath={workdir / 'data'}",
        # One sample per series per scrape interval: the pair's two copies of a sample become one.
        f"-dedup.minScrapeInterval={SCRAPE_INTERVAL:g}s",
        # Tests read what was written a second ago; production keeps the defaults (30 s, cache on).
        "-search.latencyOffset=1s",
        "-search.disableCache",
        "-loggerLevel=WARN",
        *flags,
    ]


def start_victoria_metrics(tmp_path: Path, *flags: str, http: requests.Session | None = None) -> Service:
    port = free_port()
    workdir = Path(tmp_path) / f"victoria-metrics-{port}"
    workdir.mkdir(parents=True)
    argv = victoria_metrics_argv(workdir, port, *flags)
    return local_service("victoria-metrics", argv, port, "/health", tmp_path, http=http).start()


def replica_config(
    replica: str,
    targets: dict[str, list[str]],
    remote_write_url: str,
    rule_files: list[str] | None = None,
    alertmanagers: list[str] | None = None,
) -> dict:
    """One replica of the pair: its ``replica`` label is dropped from the alerts it sends and the samples it writes."""
    config = prometheus_config(targets, rule_files, f"{SCRAPE_INTERVAL:g}s", alertmanagers)
    config["global"]["external_labels"] = {"cluster": "voice", "replica": replica}
    config["remote_write"] = [
        {
            "url": remote_write_url,
            "write_relabel_configs": [{"action": "labeldrop", "regex": "replica"}],
            "queue_config": {"batch_send_deadline": "500ms", "min_backoff": "100ms", "max_backoff": "1s"},
        }
    ]
    if alertmanagers:
        config["alerting"]["alert_relabel_configs"] = [{"action": "labeldrop", "regex": "replica"}]
    return config


@contextlib.contextmanager
def prometheus_pair(tmp_path: Path, targets, remote_write_url: str, rule_files=None, alertmanagers=None):
    """Both replicas of the pair, started and stopped together; yields {replica: Service}."""
    with contextlib.ExitStack() as stack:
        pair = {}
        for replica in REPLICAS:
            config = replica_config(replica, targets, remote_write_url, rule_files, alertmanagers)
            pair[replica] = stack.enter_context(start_prometheus(tmp_path, config))
        yield pair


def samples_written(prometheus_url: str) -> float:
    """Samples a Prometheus has sent over remote_write, from its own /metrics."""
    text = requests.get(f"{prometheus_url}/metrics", timeout=5).text
    families = text_string_to_metric_families(text)
    return sum(s.value for f in families if f.name == "prometheus_remote_storage_samples" for s in f.samples)


def alertmanager_argv(config_path: Path, workdir: Path, port: int, cluster_port: int, peers: list[int]) -> list[str]:
    return [
        ALERTMANAGER_BINARY,
        f"--config.file={config_path}",
        f"--storage.path={workdir}",
        f"--web.listen-address=127.0.0.1:{port}",
        # The peer that sent a notification is named in its payload's externalURL.
        f"--web.external-url=http://127.0.0.1:{port}",
        f"--cluster.listen-address=127.0.0.1:{cluster_port}",
        f"--cluster.advertise-address=127.0.0.1:{cluster_port}",
        *(f"--cluster.peer=127.0.0.1:{peer}" for peer in peers),
        f"--cluster.peer-timeout={PEER_TIMEOUT:g}s",
        "--cluster.settle-timeout=10s",
        "--cluster.pushpull-interval=5s",
        "--log.level=warn",
    ]


def cluster_config(receiver_url: str) -> dict:
    return {
        "route": {
            "receiver": "hook",
            "group_by": ["alertname", "group"],
            "group_wait": f"{GROUP_WAIT:g}s",
            "group_interval": f"{GROUP_INTERVAL:g}s",
            "repeat_interval": "1h",
        },
        "receivers": [{"name": "hook", "webhook_configs": [{"url": f"{receiver_url}/hook", "send_resolved": True}]}],
    }


@contextlib.contextmanager
def alertmanager_cluster(tmp_path: Path, config_path: Path, peers: int = PEERS):
    """``peers`` Alertmanagers gossiping on loopback, each knowing the others; yields them once all see each other."""
    ports = [free_port() for _ in range(peers)]
    cluster_ports = [free_port() for _ in range(peers)]
    with contextlib.ExitStack() as stack:
        members = []
        for i, (port, cluster_port) in enumerate(zip(ports, cluster_ports, strict=True)):
            workdir = Path(tmp_path) / f"alertmanager-{port}"
            workdir.mkdir(parents=True)
            others = cluster_ports[:i] + cluster_ports[i + 1 :]
            argv = alertmanager_argv(config_path, workdir, port, cluster_port, others)
            service = local_service("alertmanager", argv, port, "/-/ready", tmp_path)
            members.append(stack.enter_context(service.start()))
        wait_for(lambda: all(cluster_size(m.url) == peers for m in members), 30, what="the Alertmanager peers to meet")
        yield members


def cluster_size(alertmanager_url: str) -> int:
    status = requests.get(f"{alertmanager_url}/api/v2/status", timeout=5).json()
    return sum(1 for peer in status["cluster"]["peers"] or [] if peer)


class ProbeTarget:
    """A scrape target whose gauge ``scaleout_probe{group=...}`` the test sets, to raise and clear alerts at will."""

    def __init__(self):
        self.values: dict[str, float] = {}
        target = self

        class Probe(BaseHTTPRequestHandler):
            def log_message(self, format, *args):
                pass

            def do_GET(self):
                lines = [f'scaleout_probe{{group="{g}"}} {v}' for g, v in sorted(target.values.items())]
                body = ("\n".join(lines) + "\n").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Probe)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> ProbeTarget:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def write_yaml(path: Path, content: dict) -> Path:
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return path
