"""deploy/kubernetes/ rendered by kubectl and checked offline: kubernetes-validate for the core kinds, the
prometheus-operator schemas for PrometheusRule and ServiceMonitor, promtool for the rules and amtool for the
Alertmanager configuration; and the objects carry exactly the stack's rules and dashboards."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from deploy.kubernetes import generate
from scripts.native_stack import blackbox_binary, inline_webhook_url_files
from tests.kubernetes.rendered import OPERATOR_GROUP, PACKAGE, ROOT, by_kind, kustomize, operator_schema_errors

pytestmark = pytest.mark.kubernetes
KUBERNETES_VERSION = "1.30.0"


@pytest.fixture(scope="module")
def base() -> list[dict]:
    return kustomize(PACKAGE / "base")


@pytest.fixture(scope="module")
def alertmanager() -> list[dict]:
    return kustomize(PACKAGE / "alertmanager")


def core_errors(obj: dict) -> str | None:
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return f"{exc.path}: {exc.message}"
    return None


def test_kubectl_renders_every_kind_into_its_namespace(base, alertmanager):
    kinds = sorted({obj["kind"] for obj in base})
    assert kinds == ["ConfigMap", "Deployment", "Namespace", "PrometheusRule", "Service", "ServiceMonitor"]
    for obj in base:
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == "voice-monitoring", obj["metadata"]["name"]
    assert [(o["kind"], o["metadata"]["namespace"]) for o in alertmanager] == [("Secret", "monitoring")]


def test_core_kinds_pass_kubernetes_validate(base, alertmanager):
    core = [obj for obj in base + alertmanager if not obj["apiVersion"].startswith(OPERATOR_GROUP)]
    assert len(core) >= 6
    errors = {f"{o['kind']}/{o['metadata']['name']}": core_errors(o) for o in core}
    assert {name: error for name, error in errors.items() if error} == {}


def test_kubernetes_validate_rejects_a_broken_deployment(base):
    deployment = copy.deepcopy(by_kind(base, "Deployment")["voice-exporter"])
    deployment["spec"]["replicas"] = "one"
    assert core_errors(deployment)
    deployment = copy.deepcopy(by_kind(base, "Deployment")["voice-exporter"])
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGett"] = {}
    assert core_errors(deployment)


def test_custom_resources_pass_the_prometheus_operator_schemas(base):
    custom = [obj for obj in base if obj["apiVersion"].startswith(OPERATOR_GROUP)]
    assert sorted({obj["kind"] for obj in custom}) == ["PrometheusRule", "ServiceMonitor"]
    assert operator_schema_errors(custom) == {}


def test_the_prometheus_operator_schemas_reject_broken_objects(base):
    monitor = copy.deepcopy(by_kind(base, "ServiceMonitor")["voice-exporter"])
    monitor["spec"]["endpoints"][0]["interval"] = "every 15 seconds"
    rule = copy.deepcopy(next(iter(by_kind(base, "PrometheusRule").values())))
    rule["spec"]["groups"][0]["rules"][0]["for"] = 300
    errors = operator_schema_errors([monitor, rule])
    assert set(errors) == {"ServiceMonitor/voice-exporter", f"PrometheusRule/{rule['metadata']['name']}"}
    assert "interval" in errors["ServiceMonitor/voice-exporter"]


@pytest.mark.binaries
def test_promtool_accepts_the_rules_taken_from_the_rendered_objects(base, tmp_path):
    rules = by_kind(base, "PrometheusRule")
    paths = []
    for name, obj in rules.items():
        path = tmp_path / f"{name}.yml"
        path.write_text(yaml.safe_dump({"groups": obj["spec"]["groups"]}))
        paths.append(str(path))
    result = subprocess.run(["promtool", "check", "rules", *paths], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(rules)


def test_the_prometheus_rules_carry_exactly_the_rule_files(base):
    files = {f"voice-{p.stem}": yaml.safe_load(p.read_text()) for p in (ROOT / "prometheus" / "rules").glob("*.yml")}
    rules = by_kind(base, "PrometheusRule")
    assert files and sorted(rules) == sorted(files)
    for name, obj in rules.items():
        assert obj["spec"] == files[name], name
        assert obj["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_the_config_maps_carry_exactly_the_dashboards(base):
    boards = {p.name: p.read_text() for p in (ROOT / "grafana" / "dashboards").glob("*.json")}
    maps = by_kind(base, "ConfigMap")
    assert sorted(name for name, obj in maps.items() if "grafana_dashboard" not in obj["metadata"]["labels"]) == [
        "voice-blackbox-config"
    ]
    carried = {}
    for obj in maps.values():
        if obj["metadata"]["labels"].get("grafana_dashboard") == "1":
            carried.update(obj["data"])
    assert boards and carried == boards
    assert all(json.loads(text)["uid"] for text in carried.values())


def test_each_service_monitor_selects_its_service_and_keeps_the_prometheus_job_name(base):
    config = yaml.safe_load((ROOT / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    services = by_kind(base, "Service")
    monitors = by_kind(base, "ServiceMonitor")
    assert sorted(monitors) == ["voice-blackbox", "voice-exporter", "voice-scorer"]
    for name, monitor in monitors.items():
        selected = [
            s
            for s in services.values()
            if monitor["spec"]["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()
        ]
        assert [s["metadata"]["name"] for s in selected] == [name]
        service = selected[0]
        assert service["metadata"]["labels"][monitor["spec"]["jobLabel"]] in jobs
        (endpoint,) = monitor["spec"]["endpoints"]
        assert endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}
        assert endpoint["interval"] == config["global"]["scrape_interval"]
        assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_deployments_run_the_image_as_its_non_root_user_with_probes(base):
    user = int(re.findall(r"^USER\s+(\d+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE)[-1])
    services = by_kind(base, "Service")
    for name, deployment in by_kind(base, "Deployment").items():
        if name == "voice-blackbox":
            continue
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == user != 0
        (container,) = pod["containers"]
        assert container["args"] == [name]
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
        assert deployment["spec"]["selector"]["matchLabels"] == services[name]["spec"]["selector"]
    # One exporter holds each call's state: a rollout must not run two behind the Service.
    exporter = by_kind(base, "Deployment")["voice-exporter"]["spec"]
    assert exporter["replicas"] == 1 and exporter["strategy"] == {"type": "Recreate"}


@pytest.mark.binaries
def test_amtool_accepts_the_alertmanager_configuration_as_the_operator_mounts_it(alertmanager, tmp_path):
    (secret,) = alertmanager
    data = dict(secret["stringData"])
    config = yaml.safe_load(data.pop("alertmanager.yaml"))
    assert data, "no notification templates in the Secret"
    for name, text in data.items():
        (tmp_path / name).write_text(text)
    assert config["templates"] == ["/etc/alertmanager/config/*.tmpl"]
    config["templates"] = [f"{tmp_path}/*.tmpl"]
    # Debian's amtool is 0.25, which knows webhook URLs only inline: read them from the committed examples.
    mounted = Path("/etc/alertmanager/secrets/voice-alertmanager-secrets")
    for receiver in config["receivers"]:
        for webhook in receiver.get("webhook_configs", []):
            if "url_file" in webhook:
                name = Path(webhook["url_file"]).relative_to(mounted)
                webhook["url_file"] = str(ROOT / "alertmanager" / "secrets.example" / name)
    inline_webhook_url_files(config)
    config_path = tmp_path / "alertmanager.yaml"
    config_path.write_text(yaml.safe_dump(config))
    result = subprocess.run(["amtool", "check-config", str(config_path)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f" - {len(data)} templates\n  SUCCESS" in result.stdout, result.stdout


def test_the_overlay_in_the_scaling_guide_renders_and_relabels(tmp_path):
    guide = (ROOT / "docs" / "Scaling.md").read_text()
    (overlay,) = re.findall(r"```yaml\n# overlay/kustomization.yaml\n(.*?)```", guide, re.S)
    base = os.path.relpath(PACKAGE / "base", tmp_path)
    (tmp_path / "kustomization.yaml").write_text(overlay.replace("- ../base\n", f"- {base}\n"))
    objects = kustomize(tmp_path)
    for obj in objects:
        if obj["apiVersion"].startswith(OPERATOR_GROUP):
            assert obj["metadata"]["labels"]["release"] == "prom", obj["metadata"]["name"]
    scorer = by_kind(objects, "Deployment")["voice-scorer"]["spec"]["template"]["spec"]["containers"][0]
    assert scorer["image"] == "registry.example.com/voice-agent-monitoring:0.1.0"
    assert {"name": "SCORER_PROMETHEUS_URL", "value": "http://prom-kube-prometheus-prometheus.monitoring.svc:9090"} in (
        scorer["env"]
    )
    assert len([e for e in scorer["env"] if e["name"] == "SCORER_PROMETHEUS_URL"]) == 1


def test_the_sample_ratio_patch_in_the_scaling_guide_sets_the_exporter_environment(tmp_path):
    guide = (ROOT / "docs" / "Scaling.md").read_text()
    (patches,) = re.findall(r"overlay:\n\n```yaml\n(patches:\n.*?)```", guide, re.S)
    base = os.path.relpath(PACKAGE / "base", tmp_path)
    (tmp_path / "kustomization.yaml").write_text(f"resources:\n  - {base}\n{patches}")
    (deployment,) = [d for name, d in by_kind(kustomize(tmp_path), "Deployment").items() if name == "voice-exporter"]
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "EXPORTER_PER_CALL_SAMPLE_RATIO", "value": "0.1"} in env


# --- the prober and its Probes ----------------------------------------------------------------------------


def example_target_groups() -> list[dict]:
    """The target groups prometheus/targets/providers.yml shows in its comments."""
    lines = (ROOT / "prometheus" / "targets" / "providers.yml").read_text().splitlines()
    examples = [line[2:] for line in lines if line.startswith(("# - targets:", "#   labels:"))]
    return yaml.safe_load("\n".join(examples))


@pytest.mark.binaries
def test_the_prober_runs_the_pinned_image_with_the_committed_modules(base, tmp_path):
    compose = yaml.safe_load((ROOT / "docker-compose.monitoring.yml").read_text())
    deployment = by_kind(base, "Deployment")["voice-blackbox"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == compose["services"]["blackbox"]["image"]
    assert (
        pod["securityContext"]["runAsNonRoot"] is True
        and container["readinessProbe"]["httpGet"]["path"] == "/-/healthy"
    )
    config = by_kind(base, "ConfigMap")["voice-blackbox-config"]["data"]["blackbox.yml"]
    assert config == (ROOT / "blackbox" / "blackbox.yml").read_text()
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert container["args"] == ["--config.file=/etc/blackbox/blackbox.yml"] and mounts["config"] == "/etc/blackbox"
    keys = re.findall(r"credentials_file:\s*(\S+)", config)
    assert keys and all(k.startswith(mounts["secrets"] + "/") for k in keys)
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["secrets"]["secret"] == {"secretName": "voice-blackbox-secrets", "optional": True}
    path = tmp_path / "blackbox.yml"
    path.write_text(config)
    check = subprocess.run(
        [blackbox_binary(), f"--config.file={path}", "--config.check"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr


def test_the_committed_targets_file_lists_no_endpoint_so_the_package_has_no_probe(base):
    assert generate.provider_targets() == []
    assert "Probe" not in {obj["kind"] for obj in base}


def test_probes_of_the_example_endpoints_pass_the_operator_schema_and_reach_the_prober(base, tmp_path, monkeypatch):
    groups = example_target_groups()
    assert len(groups) >= 5 and {g["labels"]["service"] for g in groups} >= {"stt", "llm", "tts", "transport"}
    # The package as `make generate` writes it once the examples are listed, rendered by kubectl.
    monkeypatch.setattr(generate, "provider_targets", lambda: groups)
    for name, text in generate.render().items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    probes = list(by_kind(kustomize(tmp_path / "base"), "Probe").values())
    assert operator_schema_errors(probes) == {}
    modules = set(yaml.safe_load((ROOT / "blackbox" / "blackbox.yml").read_text())["modules"])
    service = by_kind(base, "Service")["voice-blackbox"]
    (port,) = service["spec"]["ports"]
    by_target = {tuple(p["spec"]["targets"]["staticConfig"]["static"]): p for p in probes}
    assert len(by_target) == len(probes) == len(groups)
    for group in groups:
        probe = by_target[tuple(group["targets"])]
        assert probe["metadata"]["namespace"] == "voice-monitoring"
        assert probe["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        spec = probe["spec"]
        assert spec["jobName"] == "provider_probe" and spec["module"] in modules
        assert spec["prober"]["url"] == f"{service['metadata']['name']}.voice-monitoring.svc:{port['port']}"
        labels = spec["targets"]["staticConfig"]["labels"]
        assert labels["module"] == spec["module"] == group["labels"].get("module", "https_reachable")
        assert {k: labels[k] for k in ("provider", "service")} == {
            k: group["labels"][k] for k in ("provider", "service")
        }
    assert len({p["metadata"]["name"] for p in probes}) == len(probes)


def test_the_prometheus_operator_schema_rejects_a_broken_probe():
    [probe] = generate.probes(example_target_groups()[:1], "15s")
    probe["spec"]["interval"] = "often"
    probe["spec"]["targets"]["staticConfig"]["static"] = "https://api.deepgram.com/"
    assert set(operator_schema_errors([probe])) == {f"Probe/{probe['metadata']['name']}"}
