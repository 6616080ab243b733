"""docker-compose.ha.yml, checked without a container engine like the main compose file: the Compose schema,
the topology (a Prometheus pair, three Alertmanager peers, VictoriaMetrics), one source for every shared
setting, and every flag run through the real binaries."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests
import yaml

from tests.harness import ALERTMANAGER_BINARY, free_port, local_service
from tests.rules.rule_files import parse_duration
from tests.scaleout.cluster_lint import too_short_group_intervals
from tests.stack.compose_file import (
    HA_COMPOSE_FILE,
    ROOT,
    bind_mounts,
    compose_schema_errors,
    load,
    named_volumes,
    provide_secret_examples,
    read_env_file,
    translate,
    variables,
)

pytestmark = pytest.mark.binaries

PROMETHEUS_CONFIG = ROOT / "prometheus" / "prometheus.yml"
HA_PROMETHEUS_CONFIG = ROOT / "prometheus" / "prometheus-ha.yml"


@pytest.fixture(scope="module")
def compose() -> dict:
    return load(read_env_file(), HA_COMPOSE_FILE)


def services_named(compose: dict, prefix: str) -> dict[str, dict]:
    return {name: s for name, s in compose["services"].items() if name.startswith(prefix)}


def flag_values(command: list[str], flag: str) -> list[str]:
    return [item.split("=", 1)[1] for item in command if item.startswith(flag + "=")]


def test_matches_the_compose_specification():
    assert compose_schema_errors(HA_COMPOSE_FILE) == ""


def test_reads_only_settings_listed_in_env_example():
    assert variables(HA_COMPOSE_FILE.read_text()) - set(read_env_file()) == set()


def test_publishes_on_loopback_pins_images_and_keeps_state_in_declared_volumes(compose):
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port}"
        assert re.fullmatch(r"[\w./-]+:v?\d+\.\d+\.\d+", service["image"]), f"{name}: {service['image']} is not pinned"
        for host, target in bind_mounts(service):
            assert host.exists(), f"{name} mounts {host} at {target}"
        for source, _ in named_volumes(service):
            assert source in compose["volumes"]
        assert service["healthcheck"]["test"][0] == "CMD", name
        for dependency, condition in service.get("depends_on", {}).items():
            assert condition == {"condition": "service_healthy"} and "healthcheck" in compose["services"][dependency]


def test_two_prometheus_replicas_three_alertmanager_peers_and_victoria_metrics(compose):
    replicas = services_named(compose, "prometheus-")
    assert sorted(s["environment"]["PROMETHEUS_REPLICA"] for s in replicas.values()) == ["a", "b"]
    for service in replicas.values():
        assert "--enable-feature=expand-external-labels" in service["command"]
        assert "--config.file=/etc/prometheus/prometheus-ha.yml" in service["command"]
    peers = services_named(compose, "alertmanager-")
    assert len(peers) == 3
    for name, service in peers.items():
        expected = sorted(f"{other}:9094" for other in peers if other != name)
        assert sorted(flag_values(service["command"], "--cluster.peer")) == expected, name
    assert "victoriametrics" in compose["services"]


def test_publishes_the_ports_the_docs_name_and_victoria_metrics_keeps_13_months(compose):
    published = {
        name: [port.split(":", 1)[1] for port in service.get("ports", [])]
        for name, service in compose["services"].items()
    }
    assert published["prometheus-a"] == ["9090:9090"] and published["prometheus-b"] == ["9092:9090"]
    assert [published[f"alertmanager-{n}"] for n in (1, 2, 3)] == [["9093:9093"], ["9193:9093"], ["9293:9093"]]
    assert published["victoriametrics"] == ["8428:8428"]
    command = compose["services"]["victoriametrics"]["command"]
    assert flag_values(command, "-retentionPeriod") == ["13"]
    assert flag_values(command, "-dedup.minScrapeInterval") == ["15s"]


def test_the_replica_configuration_scrapes_and_evaluates_what_the_single_one_does(compose):
    single = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    ha = yaml.safe_load(HA_PROMETHEUS_CONFIG.read_text())
    for key in ("scrape_interval", "scrape_timeout", "evaluation_interval"):
        assert ha["global"][key] == single["global"][key], key
    assert ha["rule_files"] == single["rule_files"]
    peers = sorted(f"{name}:9093" for name in services_named(compose, "alertmanager-"))
    jobs = {job["job_name"]: job for job in single["scrape_configs"]}
    assert [job["job_name"] for job in ha["scrape_configs"]] == list(jobs)
    for job in ha["scrape_configs"]:
        if job["job_name"] == "alertmanager":
            assert sorted(job["static_configs"][0]["targets"]) == peers
        else:
            assert job == jobs[job["job_name"]]
    assert sorted(ha["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]) == peers
    drop_replica = [{"action": "labeldrop", "regex": "replica"}]
    assert ha["alerting"]["alert_relabel_configs"] == drop_replica
    assert ha["remote_write"][0]["write_relabel_configs"] == drop_replica
    assert ha["remote_write"][0]["url"] == "http://victoriametrics:8428/api/v1/write"
    assert ha["global"]["external_labels"]["replica"] == "${PROMETHEUS_REPLICA}"
    dedup = flag_values(compose["services"]["victoriametrics"]["command"], "-dedup.minScrapeInterval")
    assert dedup == [ha["global"]["scrape_interval"]], "VictoriaMetrics must deduplicate at the scrape interval"


def test_the_exporter_and_the_scorer_run_as_in_the_main_file_with_the_scorer_reading_victoria_metrics(compose):
    main = load(read_env_file() | {"GRAFANA_ADMIN_PASSWORD": "unused"})
    assert compose["services"]["exporter"] == main["services"]["exporter"]
    scorer, main_scorer = compose["services"]["scorer"], main["services"]["scorer"]
    assert flag_values(scorer["command"], "--prometheus-url") == ["http://victoriametrics:8428"]
    other_flags = [flag for flag in scorer["command"] if not flag.startswith("--prometheus-url=")]
    assert other_flags == [flag for flag in main_scorer["command"] if not flag.startswith("--prometheus-url=")]
    assert {k: v for k, v in scorer.items() if k not in ("command", "depends_on")} == {
        k: v for k, v in main_scorer.items() if k not in ("command", "depends_on")
    }


def test_every_route_outlasts_the_last_peers_wait(compose):
    config = yaml.safe_load((ROOT / "alertmanager" / "alertmanager.yml").read_text())
    peers = services_named(compose, "alertmanager-")
    for name, service in peers.items():
        (timeout,) = flag_values(service["command"], "--cluster.peer-timeout")
        assert too_short_group_intervals(config, len(peers), parse_duration(timeout)) == [], name


def test_prometheus_replica_accepts_every_flag_and_names_itself(compose, tmp_path):
    service = compose["services"]["prometheus-a"]
    port = free_port()
    argv = ["prometheus", *translate(service["command"], service, tmp_path, f"--web.listen-address=127.0.0.1:{port}")]
    env = {k: str(v) for k, v in service["environment"].items()}
    with local_service("prometheus", argv, port, "/-/ready", tmp_path, env).start(timeout=60) as prometheus:
        config = yaml.safe_load(
            requests.get(f"{prometheus.url}/api/v1/status/config", timeout=5).json()["data"]["yaml"]
        )
        assert config["global"]["external_labels"]["replica"] == "a"
        rules = requests.get(f"{prometheus.url}/api/v1/rules", timeout=5).json()["data"]["groups"]
        assert rules, "the mounted configuration loads no rule groups"


def test_alertmanager_peer_accepts_every_flag(compose, tmp_path):
    service = compose["services"]["alertmanager-1"]
    port = free_port()
    command = [
        f"--cluster.listen-address=127.0.0.1:{free_port()}" if flag.startswith("--cluster.listen-address=") else flag
        for flag in service["command"]
    ]
    argv = [ALERTMANAGER_BINARY, *translate(command, service, tmp_path, f"--web.listen-address=127.0.0.1:{port}")]
    provide_secret_examples(tmp_path / "mounts" / "etc_alertmanager")
    with local_service("alertmanager", argv, port, "/-/ready", tmp_path).start() as alertmanager:
        status = requests.get(f"{alertmanager.url}/api/v2/status", timeout=5).json()
        assert status["cluster"]["status"] in ("ready", "settling")


def test_victoria_metrics_accepts_every_flag(compose, tmp_path: Path):
    service = compose["services"]["victoriametrics"]
    port = free_port()
    command = [flag for flag in service["command"] if not flag.startswith("-httpListenAddr=")]
    argv = ["victoria-metrics", *translate(command, service, tmp_path, f"-httpListenAddr=127.0.0.1:{port}")]
    with local_service("victoria-metrics", argv, port, "/health", tmp_path).start() as vm:
        flags = requests.get(f"{vm.url}/flags", timeout=5).text
        assert '-dedup.minScrapeInterval="15s"' in flags


def test_the_prober_runs_as_in_the_main_file(compose):
    main = load(read_env_file() | {"GRAFANA_ADMIN_PASSWORD": "unused"})
    assert compose["services"]["blackbox"] == main["services"]["blackbox"]
