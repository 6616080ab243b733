"""A real exporter, Prometheus scraping it every second, and a scorer scoring every second."""

import time
from dataclasses import dataclass

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.harness import Service, prometheus_config, query, start_exporter, start_prometheus, start_scorer, wait_for


def call_events(call_id: str, turns: int, latency: float = 0.4, end: bool = False) -> list[dict]:
    now = time.time()
    events = [
        {
            "type": "call.started",
            "ts": now,
            "call_id": call_id,
            "tenant": "acme",
            "provider": "deepgram",
            "attrs": {"codec": "pcmu"},
        }
    ]
    events += [
        {
            "type": "turn",
            "ts": now,
            "call_id": call_id,
            "attrs": {"latency_seconds": latency, "agent_speech_seconds": 4.0},
        }
        for _ in range(turns)
    ]
    events.append(
        {
            "type": "transport",
            "ts": now,
            "call_id": call_id,
            "attrs": {"rtt_seconds": 0.06, "jitter_seconds": 0.004, "packet_loss_ratio": 0.0},
        }
    )
    if end:
        events.append(
            {
                "type": "call.ended",
                "ts": now,
                "call_id": call_id,
                "attrs": {"duration_seconds": 30, "reason": "user_hangup"},
            }
        )
    return events


@dataclass
class Stack:
    exporter: Service
    prometheus: Service
    scorer: Service

    def call(self, call_id: str) -> dict | None:
        response = requests.get(f"{self.scorer.url}/calls/{call_id}", timeout=5)
        return response.json() if response.status_code == 200 else None

    def health(self) -> dict:
        return requests.get(f"{self.scorer.url}/health", timeout=5).json()

    def families(self) -> list:
        text = requests.get(f"{self.scorer.url}/metrics", timeout=5).text
        return list(text_string_to_metric_families(text))

    def samples(self, name: str) -> list:
        """Samples of the scorer's own /metrics whose sample name is ``name``."""
        return [s for family in self.families() for s in family.samples if s.name == name]


def start_stack(tmp_path, exporter_flags=(), scorer_flags=()) -> Stack:
    exporter = start_exporter(tmp_path, *exporter_flags)
    try:
        host = exporter.url.split("//", 1)[1]
        prometheus = start_prometheus(tmp_path, prometheus_config({"voice_exporter": [host]}))
        try:
            wait_for(
                lambda: query(prometheus.url, 'up{job="voice_exporter"} == 1'),
                60,
                what="Prometheus scraping the exporter",
            )
            scorer = start_scorer(tmp_path, prometheus.url, "--interval", "1", *scorer_flags)
        except BaseException:
            prometheus.stop()
            raise
    except BaseException:
        exporter.stop()
        raise
    return Stack(exporter, prometheus, scorer)


def stop_stack(stack: Stack) -> None:
    for service in (stack.scorer, stack.prometheus, stack.exporter):
        service.stop()
