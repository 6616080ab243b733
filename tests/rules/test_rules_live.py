"""prometheus/prometheus.yml and the rules, loaded by a real Prometheus scraping a real exporter."""

import threading

import pytest
import requests
import yaml

from tests.harness import query, start_prometheus, wait_for
from tests.rules.rule_files import PROMETHEUS_CONFIG, RULES_DIR, load_rules
from voice_monitoring.exporter.simulator import Simulator

pytestmark = pytest.mark.binaries


def live_config(exporter_target: str) -> dict:
    """The committed configuration scraping only the given exporter, every second, with absolute rule paths."""
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s", scrape_timeout="1s")
    config["rule_files"] = [str(RULES_DIR / "*.yml")]
    config.pop("alerting")
    config["scrape_configs"] = [job for job in config["scrape_configs"] if job["job_name"] == "voice_exporter"]
    config["scrape_configs"][0]["static_configs"] = [{"targets": [exporter_target]}]
    return config


def test_rules_evaluate_cleanly_on_real_exporter_series_and_normal_traffic_raises_nothing(exporter, tmp_path):
    with start_prometheus(tmp_path, live_config(exporter.url.removeprefix("http://"))) as prom:
        sim = Simulator(exporter.url, seed=7, speed=10)
        player = threading.Thread(target=sim.run, args=(15, 6))
        player.start()
        try:
            p95 = wait_for(
                lambda: query(prom.url, "provider:ai_agent_turn_response_seconds:p95_rate5m"),
                timeout=40,
                what="the recorded turn latency p95",
            )
            assert {r["metric"]["provider"] for r in p95} == {"deepgram", "openai_realtime"}
            slow = wait_for(
                lambda: query(prom.url, "fleet:ai_agent_turn_response_slow:ratio_rate5m"),
                timeout=20,
                what="the SLO's slow-turn ratio (the le label the rules match)",
            )
            assert 0 <= float(slow[0]["value"][1]) < 1
            wait_for(
                lambda: query(prom.url, "tenant_provider:ai_agent_cost_usd_per_minute:rate5m"),
                timeout=20,
                what="the recorded spend per minute",
            )
        finally:
            sim.stop()
            player.join(30)
        assert sim.errors == []

        groups = requests.get(f"{prom.url}/api/v1/rules", timeout=10).json()["data"]["groups"]
        evaluated = [r for g in groups for r in g["rules"]]
        assert len(evaluated) == len(load_rules())
        assert [(r["name"], r.get("lastError")) for r in evaluated if r["health"] != "ok"] == []
        alerts = {(a["metric"]["alertname"], a["metric"]["alertstate"]) for a in query(prom.url, "ALERTS")}
        assert alerts == {("Watchdog", "firing")}
