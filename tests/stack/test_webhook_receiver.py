"""The demo's webhook receiver prints the Watchdog heartbeat once and counts the repeats quietly, so the
notification a user waits for is not buried under a block every minute."""

from __future__ import annotations

import io

import requests

from scripts.webhook_receiver import WebhookReceiver

HEARTBEAT = {
    "receiver": "deadmansswitch",
    "status": "firing",
    "groupKey": '{}/{alertname="Watchdog"}:{alertname="Watchdog"}',
    "externalURL": "http://127.0.0.1:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "Watchdog", "severity": "info"},
            "annotations": {"summary": "The alerting pipeline is alive."},
            "startsAt": "2026-11-25T10:00:00Z",
            "fingerprint": "5e1d",
        }
    ],
}


def test_the_watchdog_heartbeat_is_printed_once_and_its_repeats_are_counted():
    out = io.StringIO()
    receiver = WebhookReceiver(out=out).start()
    try:
        for _ in range(3):
            response = requests.post(f"{receiver.url}/alertmanager/heartbeat", json=HEARTBEAT, timeout=5)
            assert response.status_code == 200
        page = dict(HEARTBEAT, receiver="paging", groupKey='{}:{alertname="ProviderDown"}')
        page["alerts"] = [dict(HEARTBEAT["alerts"][0], labels={"alertname": "ProviderDown"}, fingerprint="4e1f")]
        requests.post(f"{receiver.url}/alertmanager/page", json=page, timeout=5).raise_for_status()
    finally:
        receiver.stop()
    printed = out.getvalue()
    assert printed.count("Watchdog") == 1
    assert printed.count("ProviderDown") == 1
    assert (len(receiver.deliveries), receiver.repeats) == (4, 2)
