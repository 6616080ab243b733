"""A real Prometheus scrapes the exporter while the simulator plays traffic."""

import threading

import pytest

from tests.harness import prometheus_config, promtool_lint, query, start_prometheus, wait_for
from voice_monitoring.exporter.simulator import Simulator
from voice_monitoring.shared import catalogue

pytestmark = pytest.mark.binaries


def test_prometheus_sees_fleet_and_per_call_series_from_simulated_traffic(exporter, tmp_path):
    target = exporter.url.removeprefix("http://")
    with start_prometheus(tmp_path, prometheus_config({"voice_exporter": [target]})) as prom:
        sim = Simulator(exporter.url, seed=3, speed=10)
        player = threading.Thread(target=sim.run, args=(12, 8))
        player.start()
        try:
            wait_for(
                lambda: query(prom.url, "sum(ai_agent_turns_total) > 20"), timeout=40, what="turns to reach Prometheus"
            )
            p95 = wait_for(
                lambda: query(
                    prom.url,
                    "histogram_quantile(0.95, sum by (le, provider) (rate(ai_agent_turn_response_seconds_bucket[1m])))",
                ),
                timeout=20,
                what="a turn latency p95",
            )
            assert {r["metric"]["provider"] for r in p95} == {"deepgram", "openai_realtime"}
            assert all(0.3 < float(r["value"][1]) < 2.0 for r in p95), p95
            per_call = query(prom.url, "count(ai_agent_call_turns)")
            assert int(per_call[0]["value"][1]) >= 8
            fleet_with_call_id = [
                m.name
                for m in catalogue.METRICS
                if m.scope != catalogue.PER_CALL and query(prom.url, f'count({{__name__=~"{m.name}.*", call_id!=""}})')
            ]
            assert fleet_with_call_id == []
            assert query(prom.url, "sum(ai_agent_cost_usd_total) > 0") or query(
                prom.url, "sum(ai_agent_call_running_cost_usd) > 0"
            )
            health = query(prom.url, "ai_agent_worker_memory_ratio")
            assert {r["metric"]["worker"] for r in health} == {"worker-1", "worker-2", "worker-3"}
        finally:
            sim.stop()
            player.join(30)
        assert sim.errors == []


def test_every_fault_scenario_moves_the_metric_it_is_about(exporter):
    import requests
    from prometheus_client.parser import text_string_to_metric_families

    def scrape():
        text = requests.get(f"{exporter.url}/metrics", timeout=10).text
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
        }

    expectations = {
        "underflow_storm": lambda m: m.get(("ai_agent_stream_underflow_events_total", (("provider", "deepgram"),)), 0)
        > 20,
        "provider_outage": lambda m: m.get(("ai_agent_provider_up", (("provider", "deepgram"), ("service", "stt"))))
        == 0,
        "circuit_breaker_open": lambda m: m.get(("ai_agent_circuit_breaker_state", (("breaker", "deepgram_stt"),)))
        == 2,
        "codec_mismatch": lambda m: m.get(
            ("ai_agent_codec_checks_total", (("provider", "deepgram"), ("result", "misaligned"))), 0
        )
        > 0,
        "memory_pressure": lambda m: m.get(("ai_agent_worker_memory_ratio", (("worker", "worker-1"),))) > 0.9,
    }
    for name, check in expectations.items():
        sim = Simulator(exporter.url, seed=5, speed=20)
        affected = sim.play_scenario(name, calls=6, duration=3)
        assert sim.errors == []
        assert check(scrape()), name
        if name in ("underflow_storm", "codec_mismatch", "provider_outage"):
            assert affected and all(c.startswith("sim-") for c in affected), name
    assert promtool_lint(requests.get(f"{exporter.url}/metrics", timeout=10).text) == ""
