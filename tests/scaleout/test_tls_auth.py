"""Once the stack leaves loopback: Prometheus and Alertmanager serve TLS and basic auth from a web configuration
file, VictoriaMetrics from its own flags, the exporter keeps its bearer token on ingest. Unauthenticated requests
are refused by each, and events still travel end to end: exporter, Prometheus, VictoriaMetrics, Alertmanager."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import pytest
import requests

from scripts.webhook_receiver import WebhookReceiver
from tests.harness import post_events, query, start_alertmanager, start_exporter, start_prometheus, wait_for
from tests.scaleout.secured import USER, issue
from tests.scaleout.topology import cluster_config, replica_config, start_victoria_metrics, write_yaml

pytestmark = pytest.mark.binaries

RULES = {
    "groups": [
        {
            "name": "secured-probe",
            "rules": [{"alert": "CallsInProgress", "expr": "sum(ai_agent_active_calls) > 0"}],
        }
    ]
}


def refusals(url: str, path: str, ca_file: Path) -> list[str]:
    """Every way in without the right credentials that is not refused."""
    let_in = []
    for what, auth in (("no credentials", None), ("a wrong password", (USER, "wrong"))):
        with requests.Session() as client:
            client.trust_env = False
            status = client.get(url + path, auth=auth, verify=str(ca_file), timeout=5).status_code
        if status != 401:
            let_in.append(f"{url}{path} with {what}: {status}")
    try:
        status = requests.get(url.replace("https://", "http://") + path, auth=None, timeout=5).status_code
        if status < 400:
            let_in.append(f"{url}{path} over plain HTTP: {status}")
    except requests.ConnectionError:
        pass
    return let_in


def test_unauthenticated_requests_are_refused_and_the_stack_still_works_end_to_end(tmp_path):
    credentials = issue(tmp_path / "tls")
    http = credentials.session()
    token = secrets.token_urlsafe(16)
    receiver = WebhookReceiver(out=None).start()
    try:
        am_config = write_yaml(tmp_path / "alertmanager.yml", cluster_config(receiver.url))
        rules = write_yaml(tmp_path / "rules.yml", RULES)
        with (
            start_exporter(tmp_path, env={"EXPORTER_TOKEN": token}) as exporter,
            start_victoria_metrics(tmp_path, *credentials.victoria_metrics_flags(), http=http) as vm,
            start_alertmanager(tmp_path, am_config, f"--web.config.file={credentials.web_config}", http=http) as am,
        ):
            config = replica_config(
                "a",
                {"voice_exporter": [exporter.url.removeprefix("http://")]},
                f"{vm.url}/api/v1/write",
                [str(rules)],
                [am.url.removeprefix("https://")],
            )
            config["remote_write"][0].update(credentials.client_config())
            config["alerting"]["alertmanagers"][0].update(scheme="https", **credentials.client_config())
            with start_prometheus(tmp_path, config, f"--web.config.file={credentials.web_config}", http=http) as prom:
                let_in = []
                for service, path in (
                    (prom, "/api/v1/query?query=up"),
                    (am, "/api/v2/status"),
                    (vm, "/api/v1/query?query=up"),
                ):
                    let_in += refusals(service.url, path, credentials.ca_file)
                assert not let_in, let_in

                call = {
                    "type": "call.started",
                    "ts": time.time(),
                    "call_id": "c-tls",
                    "tenant": "acme",
                    "provider": "deepgram",
                }
                assert post_events(exporter.url, [call]).status_code == 401
                assert post_events(exporter.url, [call], token="wrong").status_code == 401
                assert post_events(exporter.url, [call], token=token).status_code == 200

                in_progress = "sum(ai_agent_active_calls)"
                wait_for(lambda: query(prom.url, in_progress, http=http), 30, what="Prometheus to scrape the call")
                stored = wait_for(lambda: query(vm.url, in_progress, http=http), 30, what="the call in VictoriaMetrics")
                assert stored[0]["value"][1] == "1"
                wait_for(
                    lambda: any(
                        a["labels"]["alertname"] == "CallsInProgress"
                        for a in http.get(f"{am.url}/api/v2/alerts", timeout=5).json()
                    ),
                    30,
                    what="the alert in Alertmanager",
                )
                wait_for(lambda: receiver.notifications(), 30, what="the notification")
    finally:
        receiver.stop()
