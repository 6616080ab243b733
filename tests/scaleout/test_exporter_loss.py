"""Exporter loss: with three exporters scraped by the Prometheus pair, killing one fires exactly one target-down
alert (HealthEndpointDown, the shipped rule) through the Alertmanager cluster, and the calls on the other
exporters carry on being counted."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pytest
import yaml

from scripts.webhook_receiver import WebhookReceiver
from tests.harness import post_events, query, start_exporter, wait_for
from tests.rules.rule_files import ALERTMANAGER_CONFIG, rule_file_paths
from tests.scaleout.topology import (
    REPEAT_WINDOW,
    alertmanager_cluster,
    cluster_config,
    prometheus_pair,
    start_victoria_metrics,
    write_yaml,
)

pytestmark = pytest.mark.binaries

EXPORTERS = 3
TARGET_DOWN = "HealthEndpointDown"


def start_call(exporter_url: str, call_id: str) -> None:
    event = {"type": "call.started", "ts": time.time(), "call_id": call_id, "tenant": "acme", "provider": "deepgram"}
    assert post_events(exporter_url, [event]).status_code == 200


def turn(exporter_url: str, call_id: str) -> int:
    event = {"type": "turn", "ts": time.time(), "call_id": call_id, "attrs": {"latency_seconds": 0.7}}
    return post_events(exporter_url, [event]).status_code


def target_down_deliveries(receiver: WebhookReceiver) -> list:
    return [
        n
        for n in list(receiver.deliveries)
        if n.body.get("status") == "firing" and any(a["labels"]["alertname"] == TARGET_DOWN for a in n.alerts())
    ]


def test_killing_one_exporter_fires_one_target_down_alert_and_the_others_carry_on(tmp_path: Path):
    route = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())["route"]
    receiver = WebhookReceiver(out=None).start()
    try:
        config = cluster_config(receiver.url)
        config["route"]["group_by"] = route["group_by"]  # the shipped grouping: one group per target
        config_path = write_yaml(tmp_path / "alertmanager.yml", config)
        with contextlib.ExitStack() as stack:
            exporters = [stack.enter_context(start_exporter(tmp_path)) for _ in range(EXPORTERS)]
            vm = stack.enter_context(start_victoria_metrics(tmp_path))
            peers = stack.enter_context(alertmanager_cluster(tmp_path, config_path))
            pair = stack.enter_context(
                prometheus_pair(
                    tmp_path,
                    {"voice_exporter": [e.url.removeprefix("http://") for e in exporters]},
                    f"{vm.url}/api/v1/write",
                    [str(p) for p in rule_file_paths()],
                    [peer.url.removeprefix("http://") for peer in peers],
                )
            )
            for i, exporter in enumerate(exporters):
                start_call(exporter.url, f"call-{i}")
                assert turn(exporter.url, f"call-{i}") == 200
            for replica in pair.values():
                wait_for(lambda r=replica: query(r.url, "count(up == 1) == 3"), 30, what="all three exporters up")

            lost, survivors = exporters[0], exporters[1:]
            lost_instance = lost.url.removeprefix("http://")
            lost.process.kill()
            lost.process.wait(10)
            killed_at = time.monotonic()
            while not target_down_deliveries(receiver):
                assert time.monotonic() - killed_at < 120, f"no {TARGET_DOWN} notification after 120 s"
                for i, exporter in enumerate(survivors, start=1):
                    assert turn(exporter.url, f"call-{i}") == 200
                time.sleep(1)
            notified_after = time.monotonic() - killed_at
            time.sleep(REPEAT_WINDOW)

            deliveries = target_down_deliveries(receiver)
            alerts = [a for n in deliveries for a in n.alerts() if a["labels"]["alertname"] == TARGET_DOWN]
            print(
                f"\nexporter loss: {len(deliveries)} {TARGET_DOWN} notification(s) {notified_after:.0f}s after the kill"
            )
            assert len(deliveries) == 1, [n.body for n in deliveries]
            assert [a["labels"]["instance"] for a in alerts] == [lost_instance]
            for replica in pair.values():
                firing = query(replica.url, f'ALERTS{{alertname="{TARGET_DOWN}", alertstate="firing"}}')
                assert [s["metric"]["instance"] for s in firing] == [lost_instance]
                up = {s["metric"]["instance"]: s["value"][1] for s in query(replica.url, 'up{job="voice_exporter"}')}
                assert up == {lost_instance: "0", **{e.url.removeprefix("http://"): "1" for e in survivors}}
                # a turn a second reached each survivor until the notification: a minute's worth, counted
                turns = query(replica.url, "sum by (instance) (ai_agent_turns_total) > 30")
                assert {s["metric"]["instance"] for s in turns} == {e.url.removeprefix("http://") for e in survivors}
                calls = query(replica.url, "sum by (instance) (ai_agent_active_calls)")
                assert {s["metric"]["instance"]: s["value"][1] for s in calls} == {
                    e.url.removeprefix("http://"): "1" for e in survivors
                }
    finally:
        receiver.stop()
