"""amtool over alertmanager/alertmanager.yml: validity, the routing table and the notification templates."""

import json
import re
import subprocess
import tempfile

import pytest
import yaml

from tests.rules.rule_files import (
    ALERTMANAGER_CONFIG,
    ROOT,
    TEMPLATES_DIR,
    alert_rules,
    alertmanager_config_for_025,
)

pytestmark = pytest.mark.binaries

# Where alertmanager/secrets/ is mounted; the secret paths are absolute (see alertmanager.yml).
MOUNTED_SECRETS = "/etc/alertmanager/secrets/"
AMTOOL_CONFIG = alertmanager_config_for_025(tempfile.mkdtemp(prefix="alertmanager-025-"))
RECEIVER_OF_SEVERITY = {"critical": "paging", "warning": "chat", "info": "digest", "none": "blackhole"}

# (labels of an alert, the receivers it must reach)
ROUTING_TABLE = [
    ({"alertname": "Watchdog", "severity": "info"}, ["deadmansswitch"]),
    ({"alertname": "CriticalTurnResponseLatency", "severity": "critical", "provider": "deepgram"}, ["paging"]),
    ({"alertname": "HighTurnResponseLatency", "severity": "warning", "provider": "deepgram"}, ["chat"]),
    ({"alertname": "TurnLatencySLOBurn", "severity": "critical", "window": "1h"}, ["paging"]),
    ({"alertname": "ProviderRecentlyDown", "severity": "none", "provider": "deepgram"}, ["blackhole"]),
    ({"alertname": "TurnLatencySLOBurn", "severity": "warning", "window": "3d"}, ["chat"]),
    ({"alertname": "VADConfidenceLow", "severity": "info"}, ["digest"]),
    ({"alertname": "SomethingWithoutSeverity"}, ["chat"]),
    ({"alertname": "SomethingWithAnOddSeverity", "severity": "page"}, ["chat"]),
]


def routes(labels: dict) -> list[str]:
    result = subprocess.run(
        [
            "amtool",
            "config",
            "routes",
            "test",
            f"--config.file={AMTOOL_CONFIG}",
            *(f"{k}={v}" for k, v in labels.items()),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().split(",")


def test_config_is_valid():
    result = subprocess.run(["amtool", "check-config", str(AMTOOL_CONFIG)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 receivers" in result.stdout and "7 inhibit rules" in result.stdout


def test_the_config_differs_from_what_alertmanager_025_loads_only_in_webhook_url_files():
    committed = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    loaded = yaml.safe_load(AMTOOL_CONFIG.read_text())
    for config in (committed, loaded):
        config.pop("templates")
        for receiver in config["receivers"]:
            for webhook in receiver.get("webhook_configs", []):
                webhook.pop("url_file", None) or webhook.pop("url")
    assert committed == loaded


@pytest.mark.parametrize(
    "labels,receivers",
    ROUTING_TABLE,
    ids=lambda x: ",".join(f"{v}" for v in x.values()) if isinstance(x, dict) else None,
)
def test_routing_table(labels, receivers):
    assert routes(labels) == receivers


@pytest.mark.parametrize(
    "rule", [r for r in alert_rules() if r.alert != "Watchdog"], ids=lambda r: f"{r.alert}-{r.labels['severity']}"
)
def test_every_alert_reaches_the_receiver_of_its_severity(rule):
    assert routes({"alertname": rule.alert, **rule.labels}) == [RECEIVER_OF_SEVERITY[rule.labels["severity"]]]


def test_a_down_endpoint_only_inhibits_alerts_that_keep_its_job_and_instance():
    """HealthEndpointDown silences alerts about the same target, so every alert it silences must carry the
    target's job and instance: an alert that aggregates them away would be silenced by no target, or, were
    the equal list widened to match it, by any target of the cluster."""
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    [rule] = [r for r in config["inhibit_rules"] if r["source_matchers"] == ['alertname="HealthEndpointDown"']]
    assert {"job", "instance"} <= set(rule["equal"]), rule["equal"]
    [matcher] = rule["target_matchers"]
    names = re.fullmatch(r'alertname=~"([\w|]+)"', matcher).group(1).split("|")
    rules = {r.alert: r for r in alert_rules()}
    for name in names:
        assert name in rules, f"{name} is not an alert rule"
        for grouping in re.findall(
            r"\b(?:sum|min|max|avg|count|topk|bottomk|quantile|stddev|stdvar|group)\s*"
            r"(?:(by|without)\s*\(([^)]*)\))?\s*\(",
            rules[name].expr,
        ):
            kind, labels = grouping
            kept = {label.strip() for label in labels.split(",")}
            assert (kind == "by" and {"job", "instance"} <= kept) or (
                kind == "without" and not {"job", "instance"} & kept
            ), f"{name} aggregates away job or instance: {rules[name].expr!r}"


def test_secrets_come_from_files_that_have_committed_examples():
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    secret_files = [config["global"]["slack_api_url_file"], config["global"]["smtp_auth_password_file"]]
    for receiver in config["receivers"]:
        for webhook in receiver.get("webhook_configs", []):
            secret_files.append(webhook["http_config"]["authorization"]["credentials_file"])
            assert "url" not in webhook, "a webhook URL is a secret: read it with url_file"
            secret_files.append(webhook["url_file"])
        for slack in receiver.get("slack_configs", []):
            assert "api_url" not in slack
    text = ALERTMANAGER_CONFIG.read_text()
    assert "hooks.slack.com" not in text and "password:" not in text
    for path in secret_files:
        assert path.startswith(MOUNTED_SECRETS)
        assert (ALERTMANAGER_CONFIG.parent / "secrets.example" / path.removeprefix(MOUNTED_SECRETS)).is_file()
    assert "alertmanager/secrets/" in (ROOT / ".gitignore").read_text()


def test_every_receiver_sends_resolved_notifications_except_the_digest_and_the_heartbeat():
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    for receiver in config["receivers"]:
        integrations = [c for key, configs in receiver.items() if key.endswith("_configs") for c in configs]
        if receiver["name"] == "blackhole":
            assert not integrations, "the blackhole receiver must send nothing"
            continue
        assert integrations, f"{receiver['name']} has no integration"
        expected = receiver["name"] in ("paging", "chat")
        assert all(c.get("send_resolved") is expected for c in integrations), receiver["name"]


SAMPLE = {
    "receiver": "chat",
    "status": "firing",
    "externalURL": "http://127.0.0.1:9093",
    "groupLabels": {"alertname": "HighTurnResponseLatency"},
    "commonLabels": {"alertname": "HighTurnResponseLatency", "severity": "warning"},
    "commonAnnotations": {},
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "HighTurnResponseLatency", "severity": "warning", "provider": "deepgram"},
            "annotations": {
                "summary": "Callers are waiting too long for the agent to answer.",
                "description": "p95 turn response latency for provider deepgram is 2.95s.",
                "runbook_url": "docs/Runbook.md#highturnresponselatency",
                "dashboard_url": "http://127.0.0.1:3000/d/voice-call-quality",
            },
        },
        {
            "status": "resolved",
            "labels": {"alertname": "HighTurnResponseLatency", "severity": "warning", "provider": "openai realtime"},
            "annotations": {
                "summary": "Callers are waiting too long for the agent to answer.",
                "description": "p95 turn response latency for provider openai realtime is 2.10s.",
                "runbook_url": "docs/Runbook.md#highturnresponselatency",
                "dashboard_url": "http://127.0.0.1:3000/d/voice-call-quality",
            },
        },
    ],
}


def render(tmp_path, text: str, kind: str = "text") -> str:
    data = tmp_path / "data.json"
    data.write_text(json.dumps(SAMPLE))
    result = subprocess.run(
        [
            "amtool",
            "template",
            "render",
            f"--template.glob={TEMPLATES_DIR}/*.tmpl",
            f"--template.text={text}",
            f"--template.data={data}",
            f"--template.type={kind}",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_slack_message_lists_each_alert_with_its_links(tmp_path):
    title = render(tmp_path, '{{ template "voice.slack.title" . }}')
    assert title.strip() == "[FIRING:1] HighTurnResponseLatency"
    assert render(tmp_path, '{{ template "voice.slack.color" . }}').strip() == "warning"
    text = render(tmp_path, '{{ template "voice.slack.text" . }}')
    blocks = [b for b in text.strip().split("\n\n") if b.strip()]
    assert len(blocks) == 2
    first, second = blocks
    assert first.startswith("*WARNING*: Callers are waiting too long for the agent to answer.")
    assert "p95 turn response latency for provider deepgram is 2.95s." in first
    assert "Affected: provider=deepgram" in first
    assert "<docs/Runbook.md#highturnresponselatency|Runbook>" in first
    assert "<http://127.0.0.1:3000/d/voice-call-quality|Dashboard>" in first
    assert (
        "<http://127.0.0.1:9093/#/silences/new?filter=%7Balertname%3D%22HighTurnResponseLatency%22%2C"
        "provider%3D%22deepgram%22%2Cseverity%3D%22warning%22%7D|Silence>"
    ) in first
    assert second.startswith("*WARNING RESOLVED*: ")
    assert "provider%3D%22openai+realtime%22" in second


def test_email_digest_lists_each_alert(tmp_path):
    assert render(tmp_path, '{{ template "voice.email.subject" . }}').strip() == "[FIRING] HighTurnResponseLatency (2)"
    html = render(tmp_path, '{{ template "voice.email.html" . }}', "html")
    assert html.count("<h3>WARNING: Callers are waiting too long for the agent to answer.</h3>") == 2
    assert html.count('<a href="docs/Runbook.md#highturnresponselatency">Runbook</a>') == 2
    assert "provider deepgram is 2.95s" in html and "provider openai realtime is 2.10s" in html
