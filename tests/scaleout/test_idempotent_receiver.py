"""The demo's webhook receiver is idempotent, as receivers behind an Alertmanager cluster must be: a notification
repeated by another peer is acknowledged but kept once, and a stale "firing" after its "resolved" is set aside."""

from __future__ import annotations

import copy

import pytest
import requests

from scripts.webhook_receiver import WebhookReceiver


def payload(status: str, peer: int, starts_at: str = "2026-11-25T10:00:00Z") -> dict:
    return {
        "receiver": "paging",
        "status": status,
        "groupKey": '{}:{alertname="ProviderDown"}',
        "externalURL": f"http://alertmanager-{peer}:9093",
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": "ProviderDown", "provider": "deepgram"},
                "startsAt": starts_at,
                "fingerprint": "4e1f",
            }
        ],
    }


@pytest.fixture
def receiver():
    inbox = WebhookReceiver(out=None).start()
    yield inbox
    inbox.stop()


def post(receiver: WebhookReceiver, body: dict) -> str:
    response = requests.post(f"{receiver.url}/alertmanager/page", json=body, timeout=5)
    assert response.status_code == 200
    return response.json()["status"]


def test_a_notification_repeated_by_another_peer_is_kept_once(receiver):
    assert post(receiver, payload("firing", peer=1)) == "ok"
    assert post(receiver, payload("firing", peer=2)) == "repeat"
    assert [n.body["externalURL"] for n in receiver.notifications()] == ["http://alertmanager-1:9093"]
    assert (len(receiver.deliveries), receiver.repeats) == (2, 1)


def test_a_firing_after_its_resolved_is_stale_but_a_new_firing_is_not(receiver):
    # The resolved overtakes the firing, as when a later peer sends the firing after the first peer resolved.
    assert post(receiver, payload("resolved", peer=1)) == "ok"
    assert post(receiver, payload("firing", peer=3)) == "stale"
    assert post(receiver, payload("resolved", peer=2)) == "repeat"
    assert post(receiver, payload("firing", peer=1, starts_at="2026-11-25T11:00:00Z")) == "ok"
    assert [n.body["status"] for n in receiver.notifications()] == ["resolved", "firing"]
    assert (receiver.repeats, receiver.stale) == (1, 1)


def test_different_groups_and_alerts_are_different_notifications(receiver):
    other_group = copy.deepcopy(payload("firing", peer=1))
    other_group["groupKey"] = '{}:{alertname="CallFailureRateHigh"}'
    without_fingerprint = copy.deepcopy(payload("firing", peer=1))
    del without_fingerprint["alerts"][0]["fingerprint"]
    for body in (payload("firing", peer=1), other_group, without_fingerprint):
        assert post(receiver, body) == "ok"
    assert len(receiver.notifications()) == 3
