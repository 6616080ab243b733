"""The real blackbox_exporter with the committed modules (blackbox/blackbox.yml), scraped by a real Prometheus through
the committed provider_probe job (prometheus/prometheus.yml) and its rules, against HTTPS endpoints on loopback
whose certificates a throwaway CA signs: healthy, failing, unreachable, slow, with a certificate about to expire,
and behind a key read from a file."""

from __future__ import annotations

import ssl
import threading
import time
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from grafana.builder import build_all
from scripts.native_stack import PROBE_JOB, blackbox_binary, blackbox_config, local_probe_job
from tests.dashboards.board_walk import has_data, substitute
from tests.harness import ROOT, free_port, local_service, query, start_prometheus, wait_for
from tests.promql_names import metric_names
from tests.scaleout.secured import issue, openssl

pytestmark = pytest.mark.binaries

SLOW_SECONDS = 0.8
GOOD_KEY = "good-key"
# The probes' metrics, and what the rules record from them.
PROBE_SERIES = {"probe_success", "probe_duration_seconds", "probe_ssl_earliest_cert_expiry"}
PROBE_RECORDS = ("provider_service_instance:probe_duration_seconds:",)


class Endpoint(BaseHTTPRequestHandler):
    """A provider API: /health answers 200, /slow after SLOW_SECONDS, /error 503, /missing 404, and /v1/models
    (Bearer) and /v1/projects (Token) 200 only with the good key, else 401."""

    def do_GET(self):
        expected = {"/v1/models": f"Bearer {GOOD_KEY}", "/v1/projects": f"Token {GOOD_KEY}"}
        if self.path == "/slow":
            time.sleep(SLOW_SECONDS)
        if self.path in expected:
            status = 200 if self.headers.get("Authorization") == expected[self.path] else 401
        else:
            status = {"/health": 200, "/slow": 200, "/error": 503}.get(self.path, 404)
        body = b"OK" if status == 200 else b"no"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextmanager
def https_server(cert: Path, key: Path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def long_lived_certificate(tls: Path, days: int = 90) -> tuple[Path, Path]:
    """A second server certificate for 127.0.0.1 from the CA ``issue`` made, valid ``days`` instead of one."""
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "lasting.crt", "-days", str(days), "-extfile", "san.ext", cwd=tls)  # fmt: skip
    return tls / "lasting.crt", tls / "server.key"


def committed_job(name: str) -> dict:
    config = yaml.safe_load((ROOT / "prometheus" / "prometheus.yml").read_text())
    [job] = [j for j in config["scrape_configs"] if j["job_name"] == name]
    return job


@pytest.fixture(scope="module")
def probed(tmp_path_factory):
    """{provider: its target URL}, and the Prometheus that has scraped every probe and evaluated the rules."""
    tmp = tmp_path_factory.mktemp("probes")
    binary = blackbox_binary()
    assert binary, "prometheus-blackbox-exporter is not installed (scripts/install-deps.sh installs it)"
    credentials = issue(tmp / "tls")  # its server certificate is valid for one day: the expiring one
    lasting_cert, key = long_lived_certificate(tmp / "tls")
    keys = tmp / "secrets"
    keys.mkdir()
    (keys / "openai_api_key").write_text(GOOD_KEY + "\n")
    (keys / "deepgram_api_key").write_text("a-revoked-key\n")
    with ExitStack() as running:
        healthy = running.enter_context(https_server(lasting_cert, key))
        expiring = running.enter_context(https_server(credentials.cert_file, key))
        nothing_listens = f"https://127.0.0.1:{free_port()}"
        targets = {
            "healthy": (f"{healthy}/health", "https_health"),
            "reachable": (f"{healthy}/missing", None),  # the default module: a 404 is an answer
            "failing": (f"{healthy}/error", None),
            "unreachable": (f"{nothing_listens}/health", "https_health"),
            "slow": (f"{healthy}/slow", "https_health"),
            "expiring": (f"{expiring}/health", "https_health"),
            "openai": (f"{healthy}/v1/models", "openai_health"),
            "deepgram": (f"{healthy}/v1/projects", "deepgram_health"),
        }
        targets_file = tmp / "providers.yml"
        targets_file.write_text(
            yaml.safe_dump(
                [
                    {
                        "targets": [url],
                        "labels": {"provider": provider, "service": "stt"} | ({"module": m} if m else {}),
                    }
                    for provider, (url, m) in targets.items()
                ]
            )
        )
        config_file = tmp / "blackbox.yml"
        config = blackbox_config(ROOT / "blackbox" / "blackbox.yml", keys, ca_file=credentials.ca_file)
        config_file.write_text(yaml.safe_dump(config))
        port = free_port()
        argv = [binary, f"--config.file={config_file}", f"--web.listen-address=127.0.0.1:{port}"]
        blackbox = running.enter_context(local_service("blackbox", argv, port, "/-/healthy", tmp).start())
        address = blackbox.url.removeprefix("http://")
        job = local_probe_job(committed_job(PROBE_JOB), address, tmp)
        job["file_sd_configs"] = [{"files": [str(targets_file)]}]
        # Two seconds between probes, so a probe may take 1.5 s: the slow endpoint's answer fits.
        prometheus_config = {
            "global": {"scrape_interval": "2s", "scrape_timeout": "2s", "evaluation_interval": "1s"},
            "rule_files": [str(ROOT / "prometheus" / "rules" / "probes.yml")],
            "scrape_configs": [job, {"job_name": "blackbox", "static_configs": [{"targets": [address]}]}],
        }
        prometheus = running.enter_context(start_prometheus(tmp, prometheus_config))
        wait_for(
            lambda: len(query(prometheus.url, 'count_over_time(probe_success{job="provider_probe"}[1m]) >= 2'))
            == len(targets),
            30,
            interval=0.5,
            what="two probes of every target",
        )
        wait_for(
            lambda: query(prometheus.url, 'ALERTS{alertname="ProviderTLSCertificateExpiring"}'),
            10,
            what="the rules to have read the probes",
        )
        yield targets, prometheus


def by_provider(prometheus, expr: str) -> dict[str, float]:
    return {r["metric"].get("provider"): float(r["value"][1]) for r in query(prometheus.url, expr)}


def test_probes_succeed_and_fail_as_the_endpoints_behave(probed):
    targets, prometheus = probed
    success = by_provider(prometheus, 'probe_success{job="provider_probe"}')
    assert success == {
        "healthy": 1,
        "reachable": 1,
        "failing": 0,
        "unreachable": 0,
        "slow": 1,
        "expiring": 1,
        "openai": 1,
        "deepgram": 0,
    }
    status = by_provider(prometheus, 'probe_http_status_code{job="provider_probe"}')
    assert (status["reachable"], status["failing"], status["unreachable"], status["deepgram"]) == (404, 503, 0, 401)


def test_each_target_is_probed_with_its_module_and_named_by_its_url(probed):
    targets, prometheus = probed
    found = {
        r["metric"]["provider"]: (r["metric"]["instance"], r["metric"]["module"])
        for r in query(prometheus.url, 'probe_success{job="provider_probe"}')
    }
    assert found == {provider: (url, module or "https_reachable") for provider, (url, module) in targets.items()}


def test_the_probe_times_the_slow_endpoint(probed):
    _, prometheus = probed
    duration = by_provider(prometheus, 'probe_duration_seconds{job="provider_probe"}')
    assert duration["slow"] >= SLOW_SECONDS > duration["healthy"]
    recorded = by_provider(prometheus, "provider_service_instance:probe_duration_seconds:median10m")
    assert recorded["slow"] >= SLOW_SECONDS > recorded["healthy"]


def test_the_certificate_expiry_is_read_from_the_served_certificate(probed):
    _, prometheus = probed
    days_left = by_provider(prometheus, '(probe_ssl_earliest_cert_expiry{job="provider_probe"} - time()) / 86400')
    assert 0 < days_left["expiring"] <= 1
    assert 89 < days_left["healthy"] <= 90


def test_the_rules_hold_the_failing_endpoints_and_the_expiring_certificate(probed):
    _, prometheus = probed

    def pending(alert: str) -> set[str]:
        return set(by_provider(prometheus, f'ALERTS{{alertname="{alert}", alertstate="pending"}}'))

    assert pending("ProviderEndpointDown") == {"failing", "unreachable", "deepgram"}
    assert pending("ProviderTLSCertificateExpiring") == {"expiring"}


def probe_panels() -> list[tuple[str, dict]]:
    panels = []
    for uid, board in build_all().items():
        for panel in board["panels"]:
            names = {n for t in panel.get("targets", []) for n in metric_names(t["expr"])}
            if names & PROBE_SERIES or any(n.startswith(PROBE_RECORDS) for n in names):
                panels.append((uid, panel))
    return panels


def test_every_probe_panel_shows_the_probes(probed):
    _, prometheus = probed
    panels = probe_panels()
    assert {panel["title"] for _, panel in panels} >= {"Probe success", "Probe duration", "Certificate expiry"}
    macros = {"$__rate_interval": "30s", "$__interval": "2s", "$__range": "5m"}
    for uid, panel in panels:
        for target in panel["targets"]:
            expr = substitute(target["expr"], {"provider": ".*"}, macros)
            assert has_data(query(prometheus.url, expr)), f"{uid} / {panel['title']}: {expr}"
