"""``make demo``: the generated configurations keep the project's rules and routing, and the demo itself
starts, stops by itself or on Ctrl-C, and leaves no process behind."""

from __future__ import annotations

import io
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

from scripts import demo
from scripts.native_stack import (
    DEFAULT_PORTS,
    alertmanager_config,
    blackbox_binary,
    blackbox_config,
    grafana_provisioning,
    prometheus_config,
)
from scripts.smtp_sink import SmtpSink
from scripts.webhook_receiver import WebhookReceiver
from tests.harness import wait_for
from voice_monitoring.exporter.simulator import SCENARIOS

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.binaries

LOCAL_PORTS = {
    "prometheus": 19090,
    "alertmanager": 19093,
    "exporter": 19470,
    "scorer": 19471,
    "grafana": 13000,
    "receiver": 19095,
    "blackbox": 19115,
}


def test_prometheus_copy_keeps_the_rules_and_puts_every_target_on_loopback():
    source = ROOT / "prometheus" / "prometheus.yml"
    original = yaml.safe_load(source.read_text())
    config = prometheus_config(source, LOCAL_PORTS)
    targets = {
        job["job_name"]: [t for s in job.get("static_configs", []) for t in s["targets"]]
        for job in config["scrape_configs"]
    }
    assert targets == {
        "prometheus": ["127.0.0.1:19090"],
        "alertmanager": ["127.0.0.1:19093"],
        "voice_exporter": ["127.0.0.1:19470"],
        "voice_scorer": ["127.0.0.1:19471"],
        "blackbox": ["127.0.0.1:19115"],
        "provider_probe": [],
    }
    [probe] = [j for j in config["scrape_configs"] if j["job_name"] == "provider_probe"]
    assert probe["file_sd_configs"] == [{"files": [str(source.parent / "targets" / "providers.yml")]}]
    assert probe["relabel_configs"][-1] == {"target_label": "__address__", "replacement": "127.0.0.1:19115"}
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["127.0.0.1:19093"]
    assert config["global"] == original["global"]
    assert [Path(p).relative_to(source.parent) for p in config["rule_files"]] == [
        Path(p) for p in original["rule_files"]
    ]
    with_engine = prometheus_config(source, LOCAL_PORTS, engine="127.0.0.1:15000", interval="1s")
    assert [j for j in with_engine["scrape_configs"] if j["job_name"] == "ai_engine"][0]["static_configs"] == [
        {"targets": ["127.0.0.1:15000"]}
    ]
    assert with_engine["global"]["evaluation_interval"] == "1s"


def test_alertmanager_copy_keeps_the_routing_and_points_receivers_at_the_local_receiver(tmp_path):
    source = ROOT / "alertmanager" / "alertmanager.yml"
    original = yaml.safe_load(source.read_text())
    config = alertmanager_config(source, tmp_path, "http://127.0.0.1:19095")
    assert config["route"] == original["route"]
    assert config["inhibit_rules"] == original["inhibit_rules"]
    assert [r["name"] for r in config["receivers"]] == [r["name"] for r in original["receivers"]]
    written = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert written, "no secret file written"
    urls = [p.read_text().strip() for p in written if p.read_text().startswith("http")]
    assert urls and all(u.startswith("http://127.0.0.1:19095/") for u in urls)
    for template in config["templates"]:
        assert list(Path(template).parent.glob(Path(template).name)), template
    timed = alertmanager_config(source, tmp_path, "http://127.0.0.1:19095", timings={"group_wait": "1s"})
    assert timed["route"]["group_wait"] == "1s"


def test_grafana_provisioning_copy_reads_local_datasources_and_the_project_dashboards(tmp_path):
    grafana_provisioning(ROOT / "grafana" / "provisioning", tmp_path / "provisioning", LOCAL_PORTS)
    datasources = {
        d["uid"]: d
        for path in (tmp_path / "provisioning" / "datasources").glob("*.y*ml")
        for d in yaml.safe_load(path.read_text())["datasources"]
    }
    assert datasources["prometheus"]["url"] == "http://127.0.0.1:19090"
    assert datasources["alertmanager"]["url"] == "http://127.0.0.1:19093"
    providers = [
        p
        for path in (tmp_path / "provisioning" / "dashboards").glob("*.y*ml")
        for p in yaml.safe_load(path.read_text())["providers"]
    ]
    assert providers and all(Path(p["options"]["path"]) == ROOT / "grafana" / "dashboards" for p in providers)
    assert list((ROOT / "grafana" / "dashboards").glob("*.json"))


def test_every_scenario_names_a_shipped_alert():
    rules = demo.alert_rules()
    assert set(demo.SCENARIO_ALERTS) == set(SCENARIOS)
    for scenario, alert in demo.SCENARIO_ALERTS.items():
        assert alert in rules, f"{scenario}: no rule {alert}"


def test_receiver_prints_and_keeps_webhook_and_slack_notifications():
    printed = io.StringIO()
    receiver = WebhookReceiver("127.0.0.1", 0, out=printed).start()
    try:
        webhook = {
            "status": "firing",
            "receiver": "pager",
            "groupLabels": {"alertname": "ProviderDown"},
            "alerts": [
                {
                    "status": "firing",
                    "labels": {"alertname": "ProviderDown", "severity": "critical", "provider": "deepgram"},
                    "annotations": {"summary": "A provider is down."},
                }
            ],
        }
        assert requests.post(receiver.url + "/webhook/pager", json=webhook, timeout=5).status_code == 200
        slack = {"attachments": [{"title": "[FIRING:1] ProviderDown", "text": "deepgram stt is down"}]}
        assert requests.post(receiver.url + "/slack/chat", json=slack, timeout=5).status_code == 200
        assert requests.post(receiver.url + "/x", data=b"not json", timeout=5).status_code == 400
        kept = requests.get(receiver.url + "/notifications", timeout=5).json()
        assert [n["path"] for n in kept] == ["/webhook/pager", "/slack/chat"]
    finally:
        receiver.stop()
    printed = printed.getvalue()
    assert "ProviderDown severity=critical {'provider': 'deepgram'}" in printed
    assert "summary: A provider is down." in printed
    assert "deepgram stt is down" in printed


def test_smtp_sink_accepts_an_authenticated_message_and_prints_its_subject():
    printed = io.StringIO()
    sink = SmtpSink("127.0.0.1", 0, out=printed).start()
    try:
        host, port = sink.address.split(":")
        with smtplib.SMTP(host, int(port), timeout=5) as client:
            client.login("voice-alerts@example.com", "secret")
            client.sendmail(
                "voice-alerts@example.com",
                ["voice-team@example.com"],
                "Subject: [FIRING] VADConfidenceLow (1)\r\nContent-Type: text/html\r\n\r\n"
                "<h3>INFO: Speech confidence is low.</h3>\r\n.leading dot\r\n",
            )
    finally:
        sink.stop()
    [mail] = sink.mails()
    assert mail.recipients == ["voice-team@example.com"]
    assert mail.subject == "[FIRING] VADConfidenceLow (1)"
    assert "Speech confidence is low." in mail.body and "\n.leading dot" in mail.body and "..leading" not in mail.body
    assert "email to voice-team@example.com: [FIRING] VADConfidenceLow (1)" in printed.getvalue()


def test_blackbox_copy_reads_its_keys_from_the_given_folder_and_the_prober_accepts_it(tmp_path):
    source = ROOT / "blackbox" / "blackbox.yml"
    original = yaml.safe_load(source.read_text())
    config = blackbox_config(source, ROOT / "blackbox" / "secrets.example", ca_file=tmp_path / "ca.crt")
    assert set(config["modules"]) == set(original["modules"])
    keys = [
        m["http"]["authorization"]["credentials_file"]
        for m in config["modules"].values()
        if "authorization" in m["http"]
    ]
    assert keys and all(Path(k).is_file() and Path(k).parent == ROOT / "blackbox" / "secrets.example" for k in keys)
    assert {m["http"]["tls_config"]["ca_file"] for m in config["modules"].values()} == {str(tmp_path / "ca.crt")}
    path = tmp_path / "blackbox.yml"
    path.write_text(yaml.safe_dump(blackbox_config(source, ROOT / "blackbox" / "secrets.example")))
    check = subprocess.run(
        [blackbox_binary(), f"--config.file={path}", "--config.check"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr


def free_offset() -> int:
    for offset in range(21000, 40000, 97):
        ports = [port + offset for port in DEFAULT_PORTS.values()]
        if all(_free(port) for port in ports):
            return offset
    raise AssertionError("no free port range")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def run_demo(tmp_path, *args) -> tuple[subprocess.Popen, int]:
    offset = free_offset()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scripts.demo",
            "--no-grafana",
            "--port-offset",
            str(offset),
            "--state-dir",
            str(tmp_path / ".demo"),
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    return process, offset


def test_demo_runs_prints_its_urls_and_stops_by_itself(tmp_path):
    process, offset = run_demo(tmp_path, "--duration", "8")
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 0, out
    for service in ("prometheus", "alertmanager", "exporter", "scorer", "blackbox", "api"):
        assert f"http://127.0.0.1:{DEFAULT_PORTS[service] + offset}" in out
    assert "Grafana        not started (--no-grafana)" in out
    assert not any(_listening(port + offset) for port in DEFAULT_PORTS.values())
    assert (tmp_path / ".demo" / "prometheus" / "prometheus.yml").exists()


def test_ctrl_c_stops_every_child(tmp_path):
    process, offset = run_demo(tmp_path, "--scenario", "memory_pressure")
    lines = []
    try:

        def banner_printed():
            lines.append(process.stdout.readline())
            assert process.poll() is None, "the demo exited:\n" + "".join(lines) + process.stdout.read()
            return "Ctrl-C stops everything" in lines[-1]

        wait_for(banner_printed, 90, interval=0, what="the demo's banner")
        prometheus = f"http://127.0.0.1:{DEFAULT_PORTS['prometheus'] + offset}"
        assert requests.get(prometheus + "/-/ready", timeout=5).status_code == 200
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, "".join(lines) + out
    assert "stopped." in out
    time.sleep(0.5)
    assert not any(_listening(port + offset) for port in DEFAULT_PORTS.values())
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path / ".demo")], capture_output=True, text=True).stdout
    assert leftovers.strip() == "", f"processes left behind: {leftovers}"
    assert os.path.isdir(tmp_path / ".demo" / "logs")
