"""The alert path of the scale-out topology: both Prometheus replicas send the same alert to all three
Alertmanager peers, and the receiver gets exactly one firing notification per group, also after the peer that
sent it is killed; every resolve arrives (repeats allowed, none missing)."""

from __future__ import annotations

import time

import pytest
import requests

from scripts.webhook_receiver import WebhookReceiver
from tests.harness import wait_for
from tests.scaleout.cluster_lint import too_short_group_intervals
from tests.scaleout.topology import (
    GROUP_INTERVAL,
    PEER_TIMEOUT,
    PEERS,
    REPEAT_WINDOW,
    ProbeTarget,
    alertmanager_cluster,
    cluster_config,
    prometheus_pair,
    start_victoria_metrics,
    write_yaml,
)

pytestmark = pytest.mark.binaries

RULES = {
    "groups": [
        {
            "name": "scaleout-probe",
            "rules": [{"alert": "ScaleoutProbe", "expr": "scaleout_probe > 0", "labels": {"severity": "critical"}}],
        }
    ]
}


def test_the_lint_finds_a_route_whose_group_interval_is_too_short():
    config = {
        "route": {"group_interval": "5m", "routes": [{"matchers": ['alertname="Watchdog"'], "group_interval": "30s"}]}
    }
    assert too_short_group_intervals(config, 3, 15.0) == [
        'route > alertname="Watchdog": group_interval 30s <= (3 - 1) x 15s'
    ]
    assert too_short_group_intervals(config, 2, 15.0) == []


def deliveries(receiver: WebhookReceiver, group: str, status: str) -> list:
    return [
        n
        for n in list(receiver.deliveries)
        if n.body.get("groupLabels", {}).get("group") == group and n.body.get("status") == status
    ]


def exactly_one_firing(receiver: WebhookReceiver, group: str) -> str:
    """Wait for the group's firing notification, then long enough for any repeat; return the sender's URL."""
    wait_for(lambda: deliveries(receiver, group, "firing"), 60, interval=0.2, what=f"group {group} to notify")
    time.sleep(REPEAT_WINDOW)
    firing = deliveries(receiver, group, "firing")
    senders = [n.body["externalURL"] for n in firing]
    print(f"\ngroup {group}: {len(firing)} firing notification(s) from {senders}")
    assert len(firing) == 1, f"group {group} notified {len(firing)} times, from {senders}"
    return senders[0]


def test_one_notification_per_group_across_peer_loss_and_every_resolve_arrives(tmp_path):
    assert too_short_group_intervals(cluster_config("http://x"), PEERS, PEER_TIMEOUT) == []
    receiver = WebhookReceiver(out=None).start()
    try:
        config_path = write_yaml(tmp_path / "alertmanager.yml", cluster_config(receiver.url))
        rules_path = write_yaml(tmp_path / "probe-rules.yml", RULES)
        with (
            ProbeTarget() as probe,
            start_victoria_metrics(tmp_path) as vm,
            alertmanager_cluster(tmp_path, config_path) as peers,
            prometheus_pair(
                tmp_path,
                {"probe": [probe.address]},
                f"{vm.url}/api/v1/write",
                [str(rules_path)],
                [peer.url.removeprefix("http://") for peer in peers],
            ),
        ):
            probe.values.update(g1=1, g2=0)
            sender = exactly_one_firing(receiver, "g1")
            for peer in peers:  # every peer holds the alert: both replicas send to all of them
                alerts = requests.get(f"{peer.url}/api/v2/alerts", timeout=5).json()
                assert [a["labels"].get("group") for a in alerts] == ["g1"], peer.url
                assert "replica" not in alerts[0]["labels"]

            killed = next(peer for peer in peers if peer.url == sender.rstrip("/"))
            killed.process.kill()
            killed.process.wait(10)
            probe.values["g2"] = 1
            second_sender = exactly_one_firing(receiver, "g2")
            assert second_sender.rstrip("/") != killed.url

            probe.values.update(g1=0, g2=0)
            for group in ("g1", "g2"):
                wait_for(
                    lambda g=group: deliveries(receiver, g, "resolved"),
                    GROUP_INTERVAL * 3 + REPEAT_WINDOW,
                    interval=0.2,
                    what=f"group {group} to resolve",
                )
            time.sleep(REPEAT_WINDOW)
            resolved = {g: len(deliveries(receiver, g, "resolved")) for g in ("g1", "g2")}
            print(
                f"resolved notifications: {resolved}; receiver kept {len(receiver.notifications())} "
                f"of {len(receiver.deliveries)} deliveries ({receiver.repeats} repeats, {receiver.stale} stale)"
            )
    finally:
        receiver.stop()
