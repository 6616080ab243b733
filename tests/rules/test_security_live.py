"""The generated security rules, loaded by a real Prometheus scraping a real exporter that refuses bad credentials."""

import pytest
import requests

from tests.harness import prometheus_config, query, start_exporter, start_prometheus, wait_for
from tests.rules.rule_files import RULES_DIR

pytestmark = pytest.mark.binaries

TOKEN = "live-ingest-token"
PENDING = 'ALERTS{alertname="ExporterAuthenticationFailures", alertstate="pending"}'


def test_a_burst_of_wrong_tokens_puts_the_alert_on_the_ingest_endpoint_alone(tmp_path):
    env = {"EXPORTER_TOKEN": TOKEN, "VAPI_WEBHOOK_SECRET": "live-vapi-secret"}
    with start_exporter(tmp_path, env=env) as exporter:
        config = prometheus_config(
            {"voice_exporter": [exporter.url.removeprefix("http://")]}, [str(RULES_DIR / "security.yml")]
        )
        with start_prometheus(tmp_path, config) as prom:
            zero = wait_for(
                lambda: query(prom.url, 'ai_agent_exporter_auth_failures_total{endpoint="events"}'),
                timeout=20,
                what="the zero failure series scraped",
            )
            assert {r["metric"]["reason"] for r in zero} == {"missing", "malformed", "wrong"}
            assert query(prom.url, "ALERTS") == []
            with requests.Session() as session:
                for _ in range(150):
                    reply = session.post(
                        f"{exporter.url}/v1/events",
                        data=b"[]",
                        headers={"Content-Type": "application/json", "Authorization": "Bearer guessed"},
                        timeout=5,
                    )
                    assert reply.status_code == 401
            pending = wait_for(lambda: query(prom.url, PENDING), timeout=20, what="the alert pending")
            assert [r["metric"]["endpoint"] for r in pending] == ["events"]
            groups = requests.get(f"{prom.url}/api/v1/rules", timeout=10).json()["data"]["groups"]
            assert [(r["name"], r["health"]) for g in groups for r in g["rules"]] == [
                ("ExporterAuthenticationFailures", "ok")
            ]
