"""End to end on real binaries: the native stack ``make demo`` runs (scripts/native_stack.py), a fault, the
shipped alert firing in Prometheus, Alertmanager delivering it to the webhook receiver, inhibition during a
provider outage, and the resolved notification once the fault stops.

Test-specific settings, none of which touches a rule or the routing tree: scrape and evaluation every second,
scorer cycles every 2 s, simulated time 5x, and the routes' group_wait/group_interval shortened so a
resolved notification follows within seconds rather than minutes.  Rules keep their ``for:``;
ProviderDown (``for: 2m``) is the outage's shortest-held alert, so this module takes about 3 minutes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from scripts.native_stack import DEFAULT_PORTS, NativeStack, Options
from tests.harness import free_port, query, wait_for
from tests.rules.rule_files import alert_rules
from voice_monitoring.shared import catalogue

pytestmark = pytest.mark.binaries

FAULT = "provider_outage"
FAULTY_PROVIDER = "deepgram"
HEALTHY_PROVIDER = "openai_realtime"
ALERT = "ProviderDown"
TIMINGS = {"group_wait": "1s", "group_interval": "5s", "repeat_interval": "1h"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    options = Options(
        state_dir=tmp_path_factory.mktemp("native-stack"),
        ports={name: free_port() for name in DEFAULT_PORTS},
        interval="1s",
        scorer_interval=2,
        alertmanager_timings=TIMINGS,
        speed=5,
        calls=12,
        with_grafana=False,
        quiet_receiver=True,
    )
    with NativeStack(options) as running:
        yield running


def firing(stack, alertname: str, **labels) -> list[dict]:
    alerts = requests.get(f"{stack.url('prometheus')}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
    return [
        a
        for a in alerts
        if a["labels"].get("alertname") == alertname
        and a["state"] == "firing"
        and all(a["labels"].get(k) == v for k, v in labels.items())
    ]


def delivered(stack, alertname: str, status: str, **labels) -> list[tuple]:
    """(notification, alert) pairs the receiver got for ``alertname`` in ``status``."""
    found = []
    for notification in stack.receiver.notifications():
        for alert in notification.alerts():
            if (
                alert["labels"].get("alertname") == alertname
                and alert["status"] == status
                and all(alert["labels"].get(k) == v for k, v in labels.items())
            ):
                found.append((notification, alert))
    return found


def slack_messages(stack, channel: str | None, *needles: str) -> list:
    """Slack messages (to ``channel``, or any) whose rendered text contains every needle."""
    return [
        n
        for n in stack.receiver.notifications()
        if n.kind == "slack"
        and (channel is None or n.body.get("channel") == channel)
        and all(x in n.text() for x in needles)
    ]


def alertmanager_alerts(stack, alertname: str) -> list[dict]:
    return [
        a
        for a in requests.get(f"{stack.url('alertmanager')}/api/v2/alerts", timeout=5).json()
        if a["labels"].get("alertname") == alertname
    ]


# --- smoke checks ------------------------------------------------------------------------------------


def test_every_target_is_up(stack):
    def all_up():
        targets = requests.get(f"{stack.url('prometheus')}/api/v1/targets", timeout=5).json()["data"]
        health = {t["labels"]["job"]: t["health"] for t in targets["activeTargets"]}
        return health if health and set(health.values()) == {"up"} else None

    health = wait_for(all_up, 30, what="every target up")
    assert set(health) == {"prometheus", "alertmanager", "voice_exporter", "voice_scorer", "blackbox"}


def test_no_rule_evaluation_fails(stack):
    url = f"{stack.url('prometheus')}/api/v1/rules"

    def evaluated():
        groups = requests.get(url, timeout=5).json()["data"]["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        return (
            rules
            if rules
            and all(
                rule.get("lastEvaluation", "").startswith("2") and not rule["lastEvaluation"].startswith("0001")
                for rule in rules
            )
            else None
        )

    rules = wait_for(evaluated, 30, what="every rule evaluated")
    broken = {rule["name"]: rule.get("lastError") for rule in rules if rule["health"] != "ok"}
    assert broken == {}
    failures = query(stack.url("prometheus"), "sum(prometheus_rule_evaluation_failures_total)")
    assert float(failures[0]["value"][1]) == 0


def test_scorer_publishes_scores(stack):
    score = catalogue.metric("ai_agent_call_quality_score").name
    scores = wait_for(lambda: query(stack.url("prometheus"), score), 90, interval=1, what="quality scores")
    values = [float(s["value"][1]) for s in scores]
    assert all(0 <= v <= 100 for v in values)
    assert {s["metric"]["provider"] for s in scores} <= {FAULTY_PROVIDER, HEALTHY_PROVIDER}


# --- an outage, end to end ---------------------------------------------------------------------------


def post_alert(stack, labels: dict, minutes: float = 5) -> None:
    """An alert posted as Prometheus posts one, for alerts whose for: outlasts this test."""
    now = datetime.now(UTC)
    body = [
        {
            "labels": labels,
            "annotations": {"summary": "Turn latency is high."},
            "startsAt": now.isoformat(),
            "endsAt": (now + timedelta(minutes=minutes)).isoformat(),
            "generatorURL": f"{stack.url('prometheus')}/graph",
        }
    ]
    response = requests.post(f"{stack.url('alertmanager')}/api/v2/alerts", json=body, timeout=5)
    assert response.status_code == 200, response.text


def test_provider_outage_is_delivered_inhibits_latency_alerts_and_resolves(stack):
    stack.set_fault(FAULT)
    try:
        alerts = wait_for(
            lambda: firing(stack, ALERT, provider=FAULTY_PROVIDER),
            200,
            interval=2,
            what=f"{ALERT} firing in Prometheus",
        )
        labels = alerts[0]["labels"]
        assert labels["severity"] == "critical"
        assert labels["service"] == "stt"

        notification, alert = wait_for(
            lambda: delivered(stack, ALERT, "firing", provider=FAULTY_PROVIDER), 30, what=f"{ALERT} delivered"
        )[0]
        assert alert["labels"]["severity"] == "critical"
        assert alert["annotations"]["summary"] and "{{" not in alert["annotations"]["summary"]
        description = alert["annotations"]["description"]
        assert FAULTY_PROVIDER in description and "stt" in description and "{{" not in description
        [rule] = [r for r in alert_rules() if r.alert == ALERT]
        assert alert["annotations"]["runbook_url"] == rule.annotations["runbook_url"]
        assert rule.annotations["runbook_url"].startswith("http")
        token = (stack.state / "alertmanager" / "secrets" / "webhook_token").read_text().strip()
        assert notification.authorization == f"Bearer {token}"

        # The paging route's Slack message, rendered by alertmanager/templates/.
        text = wait_for(
            lambda: slack_messages(stack, "#voice-oncall", "[FIRING:1] ProviderDown"),
            30,
            what="the on-call Slack message",
        )[0].text()
        assert "*CRITICAL*: A provider's service is unreachable." in text
        assert f"stt service of provider {FAULTY_PROVIDER} down" in " ".join(text.split())
        assert "provider=deepgram" in text and "|Runbook>" in text and "|Silence>" in text

        # Latency alerts the outage causes: while ProviderDown fires, the deepgram one must stay undelivered;
        # the healthy provider's twin reaches the chat channel, which shows the receiver would have seen it.
        latency = {"alertname": "HighTurnResponseLatency", "severity": "warning", "cluster": alert["labels"]["cluster"]}
        post_alert(stack, {**latency, "provider": FAULTY_PROVIDER, "pipeline": "cascade"})
        post_alert(stack, {**latency, "provider": HEALTHY_PROVIDER, "pipeline": "realtime"})
        wait_for(
            lambda: slack_messages(stack, "#voice-alerts", "HighTurnResponseLatency", f"provider={HEALTHY_PROVIDER}"),
            30,
            what="the healthy provider's latency alert in the chat channel",
        )
        inhibited = [
            a
            for a in alertmanager_alerts(stack, "HighTurnResponseLatency")
            if a["labels"]["provider"] == FAULTY_PROVIDER
        ]
        assert inhibited and inhibited[0]["status"]["state"] == "suppressed"
        assert inhibited[0]["status"]["inhibitedBy"]
        for name in ("CriticalTurnResponseLatency", "HighTurnResponseLatency", "ComponentHighLatency"):
            assert slack_messages(stack, None, name, f"provider={FAULTY_PROVIDER}") == []
            assert delivered(stack, name, "firing", provider=FAULTY_PROVIDER) == []
    finally:
        stack.set_fault(None)

    wait_for(lambda: not firing(stack, ALERT, provider=FAULTY_PROVIDER), 60, interval=1, what=f"{ALERT} to stop firing")
    notification, alert = wait_for(
        lambda: delivered(stack, ALERT, "resolved", provider=FAULTY_PROVIDER), 60, what=f"{ALERT} resolved notification"
    )[0]
    assert notification.body["status"] == "resolved"
    assert alert["endsAt"] > alert["startsAt"]
    wait_for(
        lambda: slack_messages(stack, "#voice-oncall", "[RESOLVED] ProviderDown", "RESOLVED*"),
        30,
        what="the resolved Slack message",
    )
    assert stack.failed_children() == []
