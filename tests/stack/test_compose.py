"""docker-compose.monitoring.yml, the Dockerfile and .env.example, checked without a container engine:
the Compose schema, the mounts, the images, the wiring, and every flag run through the real binaries."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path, PurePosixPath

import pytest
import requests
import yaml

from scripts.native_stack import blackbox_binary
from tests.harness import ALERTMANAGER_BINARY, BIN, free_port, local_service, wait_for
from tests.stack.compose_file import (
    COMPOSE_FILE,
    ROOT,
    MissingVariable,
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

PLACEHOLDER_PASSWORD = "not-a-real-password"
BUILT_SERVICES = ("exporter", "scorer", "simulator", "api")
LONG_RUNNING = ("prometheus", "alertmanager", "grafana", "exporter", "scorer", "blackbox", "api")


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    return {**read_env_file(), "GRAFANA_ADMIN_PASSWORD": PLACEHOLDER_PASSWORD}


@pytest.fixture(scope="module")
def compose(env) -> dict:
    return load(env)


def console_scripts() -> dict[str, str]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["scripts"]


def test_compose_file_matches_the_compose_specification():
    assert compose_schema_errors(COMPOSE_FILE) == ""


def test_every_setting_is_listed_in_env_example_and_every_listed_setting_is_used(compose):
    used = variables(COMPOSE_FILE.read_text())
    used |= {secret["environment"] for secret in compose["secrets"].values() if "environment" in secret}
    listed = set(read_env_file())
    assert used - listed == set(), "settings missing from .env.example"
    assert listed - used == set(), ".env.example lists settings the compose file ignores"


def test_nothing_secret_is_committed_and_the_grafana_password_has_no_default():
    example = read_env_file()
    assert example["GRAFANA_ADMIN_PASSWORD"] == ""
    assert example["EXPORTER_TOKEN"] == ""
    with pytest.raises(MissingVariable, match="GRAFANA_ADMIN_PASSWORD"):
        load(read_env_file())
    assert ".env" in (ROOT / ".gitignore").read_text().split()
    assert "alertmanager/secrets/" in (ROOT / ".gitignore").read_text().split()
    assert "blackbox/secrets/" in (ROOT / ".gitignore").read_text().split()


def test_grafana_uses_the_password_from_the_env_file_and_refuses_anonymous_users(compose):
    environment = compose["services"]["grafana"]["environment"]
    assert environment["GF_SECURITY_ADMIN_PASSWORD"] == PLACEHOLDER_PASSWORD
    assert environment["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert environment["GF_USERS_ALLOW_SIGN_UP"] == "false"


def test_ports_are_published_on_loopback_only(compose):
    published = [(name, port) for name, service in compose["services"].items() for port in service.get("ports", [])]
    assert {name for name, _ in published} == set(LONG_RUNNING)
    for name, port in published:
        assert port.startswith("127.0.0.1:"), f"{name} publishes {port}"
    fixed = {
        "prometheus": 9090,
        "alertmanager": 9093,
        "grafana": 3000,
        "exporter": 9470,
        "scorer": 9471,
        "blackbox": 9115,
        "api": 9472,
    }
    for name, port in published:
        assert port.split(":")[1:] == [str(fixed[name])] * 2, f"{name} publishes {port}"


def test_images_are_pinned(compose):
    for name, service in compose["services"].items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and re.fullmatch(r"v?\d+\.\d+\.\d+", tag), f"{name}: {image} is not pinned to a release"


def test_every_bind_mount_exists(compose):
    mounts = [
        (name, host, target) for name, service in compose["services"].items() for host, target in bind_mounts(service)
    ]
    assert mounts, "no bind mounts found"
    for name, host, target in mounts:
        assert host.exists(), f"{name} mounts {host} at {target}, which does not exist"


def test_paths_in_the_environment_point_into_existing_mounts(compose):
    checked = 0
    for name, service in compose["services"].items():
        mounts = bind_mounts(service)
        for key, value in (service.get("environment") or {}).items():
            for host, target in mounts:
                if isinstance(value, str) and value.startswith(target + "/"):
                    assert (host / value[len(target) + 1 :]).exists(), f"{name}: {key}={value} does not exist"
                    checked += 1
    assert checked


def test_named_volumes_are_declared_and_hold_every_state_directory(compose):
    declared = set(compose["volumes"])
    state = {
        "prometheus": "/prometheus",
        "alertmanager": "/alertmanager",
        "grafana": "/var/lib/grafana",
        "exporter": str(PurePosixPath(compose["services"]["exporter"]["environment"]["EXPORTER_STATE_FILE"]).parent),
    }
    for name, target in state.items():
        assert target in [t for _, t in named_volumes(compose["services"][name])], (
            f"{name} keeps state outside a volume"
        )
    for service in compose["services"].values():
        for source, _ in named_volumes(service):
            assert source in declared


def test_long_running_services_have_healthchecks_and_dependencies_wait_for_them(compose):
    services = compose["services"]
    for name in LONG_RUNNING:
        assert services[name]["healthcheck"]["test"][0] == "CMD", name
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert condition == {"condition": "service_healthy"}, f"{name} -> {dependency}"
            assert "healthcheck" in services[dependency]


def test_the_simulator_runs_only_under_the_demo_profile(compose):
    assert compose["services"]["simulator"]["profiles"] == ["demo"]
    for name in LONG_RUNNING:
        assert "profiles" not in compose["services"][name]


def test_prometheus_keeps_thirty_days_and_reloads_over_http(compose):
    command = compose["services"]["prometheus"]["command"]
    assert "--storage.tsdb.retention.time=30d" in command
    assert "--web.enable-lifecycle" in command


def test_built_services_run_console_commands_declared_in_pyproject(compose):
    scripts = console_scripts()
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.M)
    assert cmd and not re.search(r"^ENTRYPOINT", dockerfile, re.M)
    assert json.loads(cmd.group(1))[0] in scripts
    commands = {name: compose["services"][name]["command"][0] for name in BUILT_SERVICES}
    assert commands == {
        "exporter": "voice-exporter",
        "scorer": "voice-scorer",
        "simulator": "voice-sim",
        "api": "voice-api",
    }
    assert set(commands.values()) <= set(scripts)


def test_the_image_copies_every_package_and_dockerignore_lets_them_in():
    with open(ROOT / "pyproject.toml", "rb") as f:
        setuptools = tomllib.load(f)["tool"]["setuptools"]
    package_dirs = setuptools.get("package-dir", {})
    copied = re.findall(r"^COPY (\S+) ", (ROOT / "Dockerfile").read_text(), re.M)
    for package in setuptools["packages"]:
        mapped = max((name for name in package_dirs if package == name or package.startswith(name + ".")), key=len)
        directory = package_dirs[mapped].rstrip("/") + "/"
        assert directory in copied, f"the Dockerfile does not copy {directory} (package {package})"
    build_only = [source for source in copied if source.startswith(("grafana/", "prometheus/", "scripts/", "tests/"))]
    assert not build_only, f"the image holds build-only code: {build_only}"
    allowed = [line[1:] for line in (ROOT / ".dockerignore").read_text().splitlines() if line.startswith("!")]
    assert "*" in (ROOT / ".dockerignore").read_text().splitlines(), ".dockerignore is not an allow-list"
    for source in copied:
        assert source in allowed, f"{source} is copied but .dockerignore excludes it"
        assert (ROOT / source).exists()
    for secret in ("alertmanager/secrets/", ".env", ".demo/"):
        assert secret not in allowed


# --- the real binaries accept every flag -----------------------------------------------------------


def test_prometheus_accepts_every_flag(compose, tmp_path):
    service = compose["services"]["prometheus"]
    port = free_port()
    argv = ["prometheus", *translate(service["command"], service, tmp_path, f"--web.listen-address=127.0.0.1:{port}")]
    with local_service("prometheus", argv, port, "/-/ready", tmp_path).start(timeout=60) as prometheus:
        flags = requests.get(f"{prometheus.url}/api/v1/status/flags", timeout=5).json()["data"]
        assert flags["storage.tsdb.retention.time"] == "30d"
        assert flags["web.enable-lifecycle"] == "true"
        rules = requests.get(f"{prometheus.url}/api/v1/rules", timeout=5).json()["data"]["groups"]
        assert rules, "the mounted configuration loads no rule groups"


def test_alertmanager_accepts_every_flag(compose, tmp_path):
    service = compose["services"]["alertmanager"]
    port = free_port()
    argv = [
        ALERTMANAGER_BINARY,
        *translate(service["command"], service, tmp_path, f"--web.listen-address=127.0.0.1:{port}"),
    ]
    provide_secret_examples(tmp_path / "mounts" / "etc_alertmanager")
    with local_service("alertmanager", argv, port, "/-/ready", tmp_path).start() as alertmanager:
        status = requests.get(f"{alertmanager.url}/api/v2/status", timeout=5).json()
        assert "route" in status["config"]["original"]


def test_alertmanager_secret_files_have_committed_examples():
    config = (ROOT / "alertmanager" / "alertmanager.yml").read_text()
    referenced = re.findall(r"_file:\s*['\"]?([^'\"\s]+)", config)
    assert referenced, "alertmanager.yml reads no secret from a file"
    for path in referenced:
        relative = Path(path.replace("/etc/alertmanager/", ""))
        assert relative.parts[0] == "secrets", f"{path} is not under alertmanager/secrets/"
        example = ROOT / "alertmanager" / "secrets.example" / Path(*relative.parts[1:])
        assert example.is_file(), f"{path} has no example at {example}"


def test_blackbox_exporter_accepts_every_flag_and_the_probe_job_reaches_it(compose, tmp_path):
    service = compose["services"]["blackbox"]
    port = free_port()
    argv = [
        blackbox_binary(),
        *translate(service["command"], service, tmp_path, f"--web.listen-address=127.0.0.1:{port}"),
    ]
    with local_service("blackbox", argv, port, "/-/healthy", tmp_path).start() as blackbox:
        config = requests.get(f"{blackbox.url}/config", timeout=5).text
        assert "https_reachable" in config
    prometheus = yaml.safe_load((ROOT / "prometheus" / "prometheus.yml").read_text())
    [probe] = [job for job in prometheus["scrape_configs"] if job["job_name"] == "provider_probe"]
    assert probe["relabel_configs"][-1] == {"target_label": "__address__", "replacement": "blackbox:9115"}
    [scrape] = [job for job in prometheus["scrape_configs"] if job["job_name"] == "blackbox"]
    assert scrape["static_configs"] == [{"targets": ["blackbox:9115"]}]
    assert "9115" in service["healthcheck"]["test"][-1]


def test_blackbox_secret_files_have_committed_examples():
    config = (ROOT / "blackbox" / "blackbox.yml").read_text()
    referenced = re.findall(r"_file:\s*['\"]?([^'\"\s]+)", config)
    assert referenced, "blackbox.yml reads no key from a file"
    for path in referenced:
        relative = Path(path).relative_to("/etc/blackbox")
        assert relative.parts[0] == "secrets", f"{path} is not under blackbox/secrets/"
        assert (ROOT / "blackbox" / "secrets.example" / Path(*relative.parts[1:])).is_file(), path


def test_scorer_accepts_its_flags(compose, tmp_path):
    command = compose["services"]["scorer"]["command"]
    port = free_port()
    replaced = {
        "--prometheus-url": f"http://127.0.0.1:{free_port()}",
        "--listen-address": "127.0.0.1",
        "--port": str(port),
    }
    argv = [str(BIN / command[0])]
    for flag in command[1:]:
        name, _, value = flag.partition("=")
        argv.append(f"{name}={replaced.get(name, value)}")
    assert set(replaced) <= {flag.partition("=")[0] for flag in command[1:]}
    service = local_service("scorer", argv, port, "/health", tmp_path)
    with open(service.log_path, "wb") as log:
        service.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:

        def listening():
            assert service.process.poll() is None, f"voice-scorer exited:\n{service.log_tail()}"
            return requests.get(service.url + "/health", timeout=1).status_code in (200, 503)

        wait_for(listening, 20, what="voice-scorer to listen")
    finally:
        service.stop()


def test_read_api_accepts_its_flags_and_the_example_tokens(compose, tmp_path):
    command = compose["services"]["api"]["command"]
    port = free_port()
    replaced = {
        "--prometheus-url": f"http://127.0.0.1:{free_port()}",
        "--listen-address": "127.0.0.1",
        "--port": str(port),
        "--tokens-file": str(ROOT / read_env_file()["API_TOKENS_FILE"]),
    }
    argv = [str(BIN / command[0])]
    for flag in command[1:]:
        name, _, value = flag.partition("=")
        argv.append(f"{name}={replaced.get(name, value)}")
    assert set(replaced) <= {flag.partition("=")[0] for flag in command[1:]}
    with local_service("api", argv, port, "/health", tmp_path).start(timeout=20) as service:
        assert requests.get(service.url + "/v1/calls", timeout=5).status_code == 401


def test_exporter_listens_where_the_compose_environment_says(compose, tmp_path):
    environment = compose["services"]["exporter"]["environment"]
    assert environment["EXPORTER_LISTEN_ADDRESS"] == "0.0.0.0"
    port = free_port()
    env = {
        **{k: str(v) for k, v in environment.items()},
        "EXPORTER_LISTEN_ADDRESS": "127.0.0.1",
        "EXPORTER_PORT": str(port),
        "EXPORTER_STATE_FILE": str(tmp_path / "state.sqlite"),
    }
    for name, path in environment.items():  # every compose secret, empty as from an empty .env
        if str(path).startswith("/run/secrets/"):
            env[name] = str(tmp_path / name.lower())
            (tmp_path / name.lower()).write_text("")
    with local_service("exporter", [str(BIN / "voice-exporter")], port, "/ready", tmp_path, env).start():
        pass
    assert (tmp_path / "state.sqlite").exists(), "the exporter did not write its state on stop"


def test_simulator_accepts_its_flags(compose, exporter, tmp_path):
    command = compose["services"]["simulator"]["command"]
    token_file = tmp_path / "token"
    token_file.write_text("")
    argv = [str(BIN / command[0])]
    for flag in command[1:]:
        name, _, value = flag.partition("=")
        value = {"--url": exporter.url, "--token-file": str(token_file)}.get(name, value)
        argv.append(f"{name}={value}")
    result = subprocess.run([*argv, "--duration=2"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert re.search(r"sent [1-9]\d* events, 0 failed", result.stderr), result.stderr
