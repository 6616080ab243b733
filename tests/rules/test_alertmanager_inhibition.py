"""Routing and inhibition of the real alertmanager.yml, checked against a running Alertmanager.

The route tree and the inhibition rules are the committed ones; only the receivers are replaced by webhooks to
a local recorder and the group timings are shortened so the test takes seconds.
"""

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import yaml

from tests.harness import start_alertmanager, wait_for
from tests.rules.rule_files import ALERTMANAGER_CONFIG

pytestmark = pytest.mark.binaries


class Recorder:
    """An HTTP server on a loopback port that keeps every Alertmanager webhook notification it receives."""

    def __init__(self):
        self.notifications: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with recorder.lock:
                    recorder.notifications.append((self.path.strip("/"), body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def delivered(self) -> list[tuple[str, str]]:
        """(receiver, alert identity) for every alert in every notification so far."""
        with self.lock:
            return [
                (receiver, identity(alert["labels"]))
                for receiver, body in self.notifications
                for alert in body["alerts"]
            ]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def identity(labels: dict) -> str:
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def config_for(recorder_url: str) -> dict:
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    config.pop("global", None)
    config.pop("templates", None)
    config["receivers"] = [
        {"name": r["name"], "webhook_configs": [{"url": f"{recorder_url}/{r['name']}"}]} for r in config["receivers"]
    ]

    def shorten(route):
        for key in ("group_wait", "group_interval"):
            if key in route:
                route[key] = "1s"
        for child in route.get("routes", []):
            shorten(child)

    shorten(config["route"])
    config["route"].update(group_wait="1s", group_interval="1s")
    return config


def alert(**labels) -> dict:
    labels.setdefault("cluster", "voice")
    now = datetime.now(UTC)
    return {
        "labels": labels,
        "annotations": {"summary": f"{labels['alertname']} test alert."},
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(hours=1)).isoformat(),
    }


# A provider endpoint as blackbox_exporter probes it (job provider_probe).
PROBED = {"job": "provider_probe", "instance": "https://api.assemblyai.com/v2/transcript", "module": "https_reachable"}
DELIVERED = {
    "paging": [
        alert(alertname="CriticalTurnResponseLatency", severity="critical", provider="elevenlabs"),
        alert(alertname="ProviderDown", severity="critical", provider="deepgram", service="stt"),
        alert(alertname="TurnLatencySLOBurn", severity="critical", window="1h", provider="elevenlabs"),
        alert(
            alertname="HealthEndpointDown",
            severity="critical",
            cluster="edge",
            job="ai_engine",
            instance="engine:15000",
        ),
        alert(alertname="CallFailureRateHigh", severity="critical", provider="openai_realtime"),
        # A probe failing while the engine reports nothing about that provider (no call in progress).
        alert(alertname="ProviderEndpointDown", severity="critical", provider="assemblyai", service="stt", **PROBED),
    ],
    "chat": [
        alert(alertname="HighTurnResponseLatency", severity="warning", provider="openai_realtime"),
        alert(alertname="ComponentLowSuccessRate", severity="warning", provider="openai_realtime", service="tts"),
        # A certificate about to expire is news even while the provider is down.
        alert(alertname="ProviderTLSCertificateExpiring", severity="warning", provider="deepgram", service="stt"),
        alert(alertname="TenantSpendAnomaly", severity="warning", tenant="acme"),
        alert(alertname="TargetDown", severity="warning", job="blackbox", instance="blackbox:9115"),
    ],
    "deadmansswitch": [alert(alertname="Watchdog", severity="info")],
    "digest": [alert(alertname="VADConfidenceLow", severity="info")],
    # In production this receiver sends nothing; here every receiver records, to prove the route.
    "blackhole": [
        alert(alertname="ProviderRecentlyDown", severity="none", provider="cartesia"),
        alert(alertname="ProviderRecentlyDown", severity="none", provider="rime"),
    ],
}
# Each silenced alert, and what silences it.
INHIBITED = [
    (
        alert(alertname="ProviderEndpointDown", severity="critical", provider="deepgram", service="stt"),
        "ProviderDown for the same provider and service",
    ),
    (
        alert(alertname="ProviderEndpointSlow", severity="warning", provider="assemblyai", service="stt", **PROBED),
        "ProviderEndpointDown for the same endpoint",
    ),
    (
        alert(alertname="TargetDown", severity="warning", **{**PROBED, "instance": "https://api.openai.com/v1/models"}),
        "TargetDown of the prober",
    ),
    (
        alert(alertname="HighTurnResponseLatency", severity="warning", provider="elevenlabs"),
        "its critical twin CriticalTurnResponseLatency",
    ),
    (
        alert(alertname="ComponentLowSuccessRate", severity="warning", provider="deepgram", service="tts"),
        "ProviderDown for the same provider",
    ),
    (
        alert(alertname="TurnLatencySLOBurn", severity="warning", window="1d", provider="elevenlabs"),
        "the critical TurnLatencySLOBurn page",
    ),
    (
        alert(alertname="TurnLatencySLOBurn", severity="critical", window="1h", provider="deepgram"),
        "ProviderDown for the same provider",
    ),
    (
        alert(alertname="CriticalTurnResponseLatency", severity="critical", provider="cartesia"),
        "the aftermath ProviderRecentlyDown",
    ),
    (
        alert(alertname="TurnLatencySLOBurn", severity="critical", window="6h", provider="cartesia"),
        "the aftermath ProviderRecentlyDown",
    ),
    (
        alert(alertname="CallFailureRateHigh", severity="critical", provider="cartesia"),
        "the aftermath ProviderRecentlyDown",
    ),
    (
        alert(
            alertname="ProviderDown",
            severity="critical",
            cluster="edge",
            provider="deepgram",
            service="llm",
            job="ai_engine",
            instance="engine:15000",
        ),
        "HealthEndpointDown for the engine whose series it reads",
    ),
]
# Sent with the inhibited alerts, after HealthEndpointDown for the edge engine is known, and still notified:
# a down engine does not silence other targets' alerts, fleet-wide symptoms or the same alert from elsewhere.
NOT_INHIBITED = {
    "paging": [
        alert(
            alertname="ProviderDown",
            severity="critical",
            cluster="edge",
            provider="deepgram",
            service="stt",
            job="voice_exporter",
            instance="exporter:9470",
        ),
        alert(alertname="CallFailureRateHigh", severity="critical", cluster="edge", provider="openai_realtime"),
        # Another provider's page in the aftermath of cartesia's outage.
        alert(alertname="CriticalTurnResponseLatency", severity="critical", provider="playht"),
        # The probe of another service of a provider the engine reports down.
        alert(alertname="ProviderEndpointDown", severity="critical", provider="deepgram", service="llm"),
    ],
    "chat": [
        alert(alertname="TargetDown", severity="warning", cluster="edge", job="voice_scorer", instance="scorer:9471"),
        alert(alertname="ScorerStale", severity="warning", cluster="edge", job="voice_scorer", instance="scorer:9471"),
        # The SLO ticket of a provider just out of an outage still arrives: the budget was spent.
        alert(alertname="TurnLatencySLOBurn", severity="warning", window="1d", provider="rime"),
    ],
}


def post(alertmanager_url: str, alerts: list[dict]) -> None:
    response = requests.post(f"{alertmanager_url}/api/v2/alerts", json=alerts, timeout=10)
    assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def notified(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("alertmanager")
    with Recorder() as recorder:
        config_path = tmp_path / "alertmanager.yml"
        config_path.write_text(yaml.safe_dump(config_for(recorder.url)))
        with start_alertmanager(tmp_path, config_path) as alertmanager:
            # The causes first, as Prometheus usually sends them: an inhibition only holds once Alertmanager
            # knows the inhibiting alert, and a symptom whose group flushes before that is notified.
            causes = [a for alerts in DELIVERED.values() for a in alerts]
            post(alertmanager.url, causes)
            wait_for(
                lambda: len(requests.get(f"{alertmanager.url}/api/v2/alerts", timeout=10).json()) == len(causes),
                timeout=10,
                what="Alertmanager to hold the first alerts",
            )
            later = [a for a, _ in INHIBITED] + [a for alerts in NOT_INHIBITED.values() for a in alerts]
            post(alertmanager.url, later)
            expected = {
                (receiver, identity(a["labels"]))
                for table in (DELIVERED, NOT_INHIBITED)
                for receiver, alerts in table.items()
                for a in alerts
            }
            wait_for(lambda: expected <= set(recorder.delivered()), timeout=30, what="every expected notification")
            time.sleep(3)  # several group intervals, for anything that should not arrive to arrive
            state = requests.get(f"{alertmanager.url}/api/v2/alerts", timeout=10).json()
            yield recorder.delivered(), {identity(a["labels"]): a["status"] for a in state}


@pytest.mark.parametrize("receiver", sorted(DELIVERED))
def test_each_alert_reaches_its_receiver_exactly_once(notified, receiver):
    delivered, _ = notified
    for sent in DELIVERED[receiver]:
        who = identity(sent["labels"])
        deliveries = [r for r, a in delivered if a == who]
        if sent["labels"]["alertname"] == "Watchdog":
            assert deliveries and set(deliveries) == {receiver}
        else:
            assert deliveries == [receiver], f"{who} went to {deliveries}"


@pytest.mark.parametrize(
    "sent,reason", INHIBITED, ids=[a["labels"]["alertname"] + "-" + r.split()[-1] for a, r in INHIBITED]
)
def test_inhibited_alert_is_never_notified(notified, sent, reason):
    delivered, state = notified
    who = identity(sent["labels"])
    assert who not in {a for _, a in delivered}, f"{who} should be silenced by {reason}"
    assert state[who]["state"] == "suppressed" and state[who]["inhibitedBy"], state[who]


@pytest.mark.parametrize(
    "sent",
    [a for alerts in NOT_INHIBITED.values() for a in alerts],
    ids=lambda a: a["labels"]["alertname"] + "-" + a["labels"].get("job", "fleet"),
)
def test_unrelated_alert_is_not_inhibited_by_a_down_engine(notified, sent):
    delivered, state = notified
    who = identity(sent["labels"])
    receiver = next(r for r, alerts in NOT_INHIBITED.items() if sent in alerts)
    assert [r for r, a in delivered if a == who] == [receiver], f"{who} should be notified to {receiver}"
    assert state[who]["state"] == "active" and not state[who]["inhibitedBy"], state[who]


def test_nothing_else_is_notified(notified):
    delivered, _ = notified
    expected = {
        identity(a["labels"]) for table in (DELIVERED, NOT_INHIBITED) for alerts in table.values() for a in alerts
    }
    assert {a for _, a in delivered} == expected
