"""Once the stack leaves loopback: Prometheus and Alertmanager serve TLS and basic auth from a web configuration
file, VictoriaMetrics from its own flags, the exporter keeps its bearer token on ingest. Unauthenticated requests
are refused by each, and events still travel end to end: exporter, Prometheus, VictoriaMetrics, Alertmanager. The
scorer verifies a secured Prometheus against a CA file and logs in with credentials from a file (or its URL); wrong
credentials and an untrusted server are counted as errors with their reason."""

from __future__ import annotations

import secrets
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from scripts.webhook_receiver import WebhookReceiver
from tests.harness import (
    post_events,
    query,
    start_alertmanager,
    start_exporter,
    start_prometheus,
    start_scorer,
    wait_for,
)
from tests.scaleout.secured import USER, issue
from tests.scaleout.topology import cluster_config, replica_config, start_victoria_metrics, write_yaml
from tests.scorer.scoring_stack import call_events
from voice_monitoring.shared import catalogue

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


QUERY_ERRORS = catalogue.metric("ai_agent_scorer_query_errors_total").name


def query_errors(scorer_url: str) -> dict[str, float]:
    text = requests.get(f"{scorer_url}/metrics", timeout=5).text
    return {
        sample.labels["reason"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == QUERY_ERRORS
    }


def repeated(errors: dict[str, float], reason: str) -> dict[str, float] | None:
    """``errors`` once ``reason`` was counted at least twice (the scorer keeps trying), else None."""
    return errors if errors[reason] >= 2 else None


def scored_call(scorer_url: str, call_id: str) -> dict | None:
    answer = requests.get(f"{scorer_url}/calls/{call_id}", timeout=5)
    return answer.json() if answer.status_code == 200 and answer.json()["score"] is not None else None


def test_the_scorer_scores_through_tls_and_basic_auth_and_counts_refusals_with_their_reason(tmp_path):
    credentials = issue(tmp_path / "tls")
    stranger = issue(tmp_path / "other-ca")  # a CA that did not sign Prometheus' certificate
    right = tmp_path / "basic-auth"
    right.write_text(f"{USER}:{credentials.password}\n")
    wrong = tmp_path / "wrong-basic-auth"
    wrong.write_text(f"{USER}:not-the-password\n")
    http = credentials.session()
    quick = ("--interval", "1", "--max-backoff-seconds", "1", "--query-timeout", "3")
    with (
        start_exporter(tmp_path) as exporter,
        start_victoria_metrics(tmp_path, *credentials.victoria_metrics_flags(), http=http) as vm,
        ExitStack() as running,
    ):
        targets = {"voice_exporter": [exporter.url.removeprefix("http://")]}
        config = replica_config("a", targets, f"{vm.url}/api/v1/write")
        config["remote_write"][0].update(credentials.client_config())
        prom = running.enter_context(
            start_prometheus(tmp_path, config, f"--web.config.file={credentials.web_config}", http=http)
        )
        host = prom.url.removeprefix("https://")

        def scorer(url: str, *flags: str, env: dict | None = None):
            return running.enter_context(start_scorer(tmp_path, url, *quick, *flags, env=env))

        trusted = ("--prometheus-ca-file", str(credentials.ca_file))
        by_file = scorer(prom.url, *trusted, "--prometheus-basic-auth-file", str(right))
        by_url = scorer(f"https://{USER}:{credentials.password}@{host}", *trusted)
        on_vm = scorer(vm.url, *trusted, "--prometheus-basic-auth-file", str(right))
        refused = scorer(  # configured through the environment twins
            prom.url,
            env={
                "SCORER_PROMETHEUS_CA_FILE": str(credentials.ca_file),
                "SCORER_PROMETHEUS_BASIC_AUTH_FILE": str(wrong),
            },
        )
        untrusted = scorer(
            prom.url, "--prometheus-ca-file", str(stranger.ca_file), "--prometheus-basic-auth-file", str(right)
        )

        wait_for(lambda: query(prom.url, 'up{job="voice_exporter"} == 1', http=http), 60, what="the exporter scraped")
        assert post_events(exporter.url, call_events("c-tls", 4)).status_code == 200
        for good in (by_file, by_url, on_vm):
            scored = wait_for(lambda url=good.url: scored_call(url, "c-tls"), 30, what="the call scored through TLS")
            assert scored["score"] == 100.0 and scored["band_name"] == "excellent"
            assert requests.get(f"{good.url}/health", timeout=5).json()["status"] == "ok"
            assert query_errors(good.url) == {"timeout": 0, "http": 0, "tls": 0, "auth": 0, "parse": 0}

        for bad, reason, says in (
            (refused, "auth", "refused the scorer's credentials"),
            (untrusted, "tls", "certificate verify failed"),
        ):
            errors = wait_for(lambda url=bad.url, r=reason: repeated(query_errors(url), r), 20, what=f"{reason} errors")
            assert {r: n for r, n in errors.items() if n} == {reason: errors[reason]}
            health = requests.get(f"{bad.url}/health", timeout=5).json()
            assert health["status"] == "degraded" and health["last_success"] is None
            assert says in health["last_error"]
            assert requests.get(f"{bad.url}/calls/c-tls", timeout=5).status_code == 404

    for service in (by_file, by_url, on_vm, refused, untrusted):
        assert credentials.password not in service.log_path.read_text()  # not in the log, URL credentials included
