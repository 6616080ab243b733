"""The monitoring stack on this machine's binaries, on loopback ports: what ``make demo`` runs.

Prometheus, Alertmanager and blackbox_exporter run from the project's own ``prometheus/prometheus.yml``, rule
files, ``alertmanager/alertmanager.yml`` and ``blackbox/blackbox.yml``.  Only addresses and file paths change, in
generated copies under the state folder: every target becomes 127.0.0.1 with its local port, the secret files
Alertmanager reads are written there pointing its Slack and webhook receivers at a local webhook receiver, and
blackbox_exporter reads its keys from ``blackbox/secrets/`` (or the committed examples).  The providers probed are
those listed in ``prometheus/targets/providers.yml``: none by default.
"""

from __future__ import annotations

import secrets
import shutil
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from scripts.processes import ROOT, Service
from scripts.smtp_sink import SmtpSink
from scripts.webhook_receiver import WebhookReceiver

BIN = Path(sys.executable).parent

# The project's fixed ports (docs/Operators-Manual.md); a test passes free ones instead.
DEFAULT_PORTS = {
    "prometheus": 9090,
    "alertmanager": 9093,
    "exporter": 9470,
    "scorer": 9471,
    "api": 9472,
    "grafana": 3000,
    "receiver": 9095,
    "smtp": 9025,
    "blackbox": 9115,
}
JOB_SERVICES = {
    "prometheus": "prometheus",
    "alertmanager": "alertmanager",
    "voice_exporter": "exporter",
    "voice_scorer": "scorer",
    "blackbox": "blackbox",
}
ENGINE_JOB = "ai_engine"
PROBE_JOB = "provider_probe"
# Where compose mounts blackbox/ in the prober's container; its modules read their keys from below it.
BLACKBOX_MOUNT = "/etc/blackbox/"


def alertmanager_binary() -> str | None:
    return shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


def grafana_binary() -> str | None:
    return shutil.which("grafana") or shutil.which("grafana-server")


def blackbox_binary() -> str | None:
    return shutil.which("prometheus-blackbox-exporter") or shutil.which("blackbox_exporter")


# --- configuration copies --------------------------------------------------------------------------


def prometheus_config(
    source: Path, ports: dict[str, int], engine: str | None = None, interval: str | None = None
) -> dict:
    """``source`` with every target on loopback, rule files as absolute paths; without ``engine``
    (host:port of a real voice engine) the engine's job is left out, as no engine runs here."""
    config = yaml.safe_load(source.read_text())
    if interval:
        config["global"]["scrape_interval"] = interval
        config["global"]["evaluation_interval"] = interval
        config["global"].pop("scrape_timeout", None)
    config["rule_files"] = [str((source.parent / pattern).resolve()) for pattern in config.get("rule_files", [])]
    for alertmanagers in config.get("alerting", {}).get("alertmanagers", []):
        for static in alertmanagers.get("static_configs", []):
            static["targets"] = [f"127.0.0.1:{ports['alertmanager']}"]
    jobs = []
    for job in config.get("scrape_configs", []):
        name = job["job_name"]
        if name == ENGINE_JOB:
            if engine is None:
                continue
            local = engine
        elif name == PROBE_JOB:
            jobs.append(local_probe_job(job, f"127.0.0.1:{ports['blackbox']}", source.parent, interval))
            continue
        elif name in JOB_SERVICES:
            local = f"127.0.0.1:{ports[JOB_SERVICES[name]]}"
        else:
            raise ValueError(f"{source}: no local address for job {name!r}")
        if name == ENGINE_JOB:
            job.pop("file_sd_configs", None)
            job["static_configs"] = [{"targets": [local]}]
        for static in job.get("static_configs", []):
            static["targets"] = [local]
        if interval:
            job.pop("scrape_interval", None)
            job.pop("scrape_timeout", None)
        jobs.append(job)
    config["scrape_configs"] = jobs
    return config


def local_probe_job(job: dict, blackbox: str, config_dir: Path, interval: str | None = None) -> dict:
    """The provider probe job with its probes sent to the blackbox_exporter at ``blackbox`` (host:port) and its
    target files read from ``config_dir``, where the Prometheus configuration lies."""
    for sd in job.get("file_sd_configs", []):
        sd["files"] = [str((config_dir / f).resolve()) for f in sd["files"]]
    for relabel in job.get("relabel_configs", []):
        if relabel.get("target_label") == "__address__":
            relabel["replacement"] = blackbox
    if interval:
        job.pop("scrape_interval", None)
        job.pop("scrape_timeout", None)
    return job


def blackbox_config(source: Path, secrets_dir: Path, ca_file: Path | None = None) -> dict:
    """``source`` (blackbox/blackbox.yml) with the key files its modules read taken from ``secrets_dir`` instead
    of the container's /etc/blackbox/secrets/; with ``ca_file``, every module also trusts that CA."""
    config = yaml.safe_load(source.read_text())
    for module in config["modules"].values():
        probe = module.setdefault(module["prober"], {})
        _relocate_secrets(probe, secrets_dir, source)
        if ca_file is not None:
            probe.setdefault("tls_config", {})["ca_file"] = str(ca_file)
    return config


def _relocate_secrets(node: dict, secrets_dir: Path, source: Path) -> None:
    for key, value in node.items():
        if isinstance(value, dict):
            _relocate_secrets(value, secrets_dir, source)
        elif key.endswith("_file") and isinstance(value, str) and value.startswith(BLACKBOX_MOUNT):
            relative = Path(value.removeprefix(BLACKBOX_MOUNT))
            if relative.parts[0] != "secrets":
                raise ValueError(f"{source}: {key} {value} is outside secrets/")
            node[key] = str(secrets_dir.joinpath(*relative.parts[1:]))


def _secret_value(key: str, path: list[str], receiver_name: str | None, receiver_url: str) -> str:
    """What the demo writes into the secret file a config key names: receiver URLs point at the local
    receiver (Slack messages under /slack/, webhook payloads under /webhook/), anything else is a
    throw-away credential."""
    name = receiver_name or "default"
    if key in ("api_url_file", "slack_api_url_file"):
        return f"{receiver_url}/slack/{name}"
    if key == "url_file":
        return f"{receiver_url}/{'webhook' if 'webhook_configs' in path else path[-1]}/{name}"
    return "demo-" + secrets.token_hex(8)


def alertmanager_config(
    source: Path, target_dir: Path, receiver_url: str, smtp: str | None = None, timings: dict[str, str] | None = None
) -> dict:
    """``source`` with its secret files written under ``target_dir`` (pointing at the local receiver),
    its templates read from the project, and email sent to ``smtp`` (host:port) when given.
    ``timings`` (group_wait, group_interval, repeat_interval) overrides the routing tree's timers, for tests."""
    config = yaml.safe_load(source.read_text())
    written: set[Path] = set()

    def walk(node, path: list[str], receiver_name: str | None):
        if isinstance(node, dict):
            for key, value in node.items():
                if key.endswith("_file") and isinstance(value, str):
                    node[key] = str(write_secret(key, value, path, receiver_name))
                elif key == "smarthost" and smtp:
                    node[key] = smtp
                elif key == "url" and path and path[-1] == "webhook_configs" and isinstance(value, str):
                    node[key] = receiver_url + (urlsplit(value).path or "/")
                else:
                    walk(value, path + [key], receiver_name)
        elif isinstance(node, list):
            for item in node:
                walk(item, path, receiver_name)

    def write_secret(key: str, value: str, path: list[str], receiver_name: str | None) -> Path:
        relative = Path(value.replace("/etc/alertmanager/", "")) if value.startswith("/") else Path(value)
        local = (target_dir / relative).resolve()
        if target_dir.resolve() not in local.parents:
            raise ValueError(f"{source}: {key} {value} is outside the configuration folder")
        if local not in written:
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_text(_secret_value(key, path, receiver_name, receiver_url) + "\n")
            local.chmod(0o600)
            written.add(local)
        return local

    walk(config.get("global", {}), ["global"], None)
    for receiver in config.get("receivers", []):
        walk(receiver, ["receivers"], receiver["name"])
    if smtp:
        config.setdefault("global", {})["smtp_smarthost"] = smtp
        config["global"]["smtp_require_tls"] = False
        for receiver in config.get("receivers", []):
            for email in receiver.get("email_configs", []):
                email["require_tls"] = False
    inline_webhook_url_files(config)
    config["templates"] = [str((source.parent / t).resolve()) for t in config.get("templates", [])]
    if timings:

        def retime(route):
            for key, value in timings.items():
                if key in route or route is config["route"]:
                    route[key] = value
            for child in route.get("routes", []):
                retime(child)

        retime(config["route"])
    return config


def inline_webhook_url_files(config: dict) -> dict:
    """Webhook URLs read from their ``url_file`` into ``url``: Alertmanager 0.25, Debian's, knows only ``url``."""
    for receiver in config.get("receivers", []):
        for webhook in receiver.get("webhook_configs", []):
            if "url_file" in webhook:
                webhook["url"] = Path(webhook.pop("url_file")).read_text().strip()
    return config


def grafana_provisioning(source: Path, target: Path, ports: dict[str, int]) -> None:
    """A copy of ``source`` (grafana/provisioning) with datasource URLs on loopback and the dashboards
    provider reading the project's grafana/dashboards."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    for path in (target / "datasources").glob("*.y*ml"):
        config = yaml.safe_load(path.read_text()) or {}
        for datasource in config.get("datasources", []):
            kind = datasource.get("type", "")
            if "alertmanager" in kind:
                datasource["url"] = f"http://127.0.0.1:{ports['alertmanager']}"
            elif "prometheus" in kind:
                datasource["url"] = f"http://127.0.0.1:{ports['prometheus']}"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
    for path in (target / "dashboards").glob("*.y*ml"):
        config = yaml.safe_load(path.read_text()) or {}
        for provider in config.get("providers", []):
            provider.setdefault("options", {})["path"] = str(ROOT / "grafana" / "dashboards")
        path.write_text(yaml.safe_dump(config, sort_keys=False))


# --- processes -------------------------------------------------------------------------------------


@dataclass
class Options:
    state_dir: Path = ROOT / ".demo"
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    interval: str | None = None  # Prometheus scrape and evaluation interval; None keeps prometheus.yml's
    scorer_interval: float = 30.0
    alertmanager_timings: dict[str, str] | None = None
    engine: str | None = None  # host:port of a real voice engine's /metrics
    calls: int = 10
    speed: float = 1.0
    seed: int = 1
    with_grafana: bool = True
    quiet_receiver: bool = False
    prometheus_config: Path = ROOT / "prometheus" / "prometheus.yml"
    alertmanager_config: Path = ROOT / "alertmanager" / "alertmanager.yml"
    blackbox_config: Path = ROOT / "blackbox" / "blackbox.yml"


class NativeStack:
    """Start with ``start()`` (or ``with``), stop with ``stop()``: every child stops, whatever happened."""

    def __init__(self, options: Options):
        self.options = options
        self.state = options.state_dir
        self.logs = self.state / "logs"
        self.children: list[Service] = []
        self.receiver: WebhookReceiver | None = None
        self.smtp: SmtpSink | None = None
        self.simulator = None
        self._simulator_thread: threading.Thread | None = None
        self.grafana_password: str | None = None
        self.grafana_missing_reason: str | None = None

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.options.ports[service]}"

    def __enter__(self) -> NativeStack:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> NativeStack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        ports = self.options.ports
        self.state.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        out = None if self.options.quiet_receiver else sys.stdout
        self.receiver = WebhookReceiver("127.0.0.1", ports["receiver"], out=out).start()
        self.smtp = SmtpSink("127.0.0.1", ports["smtp"], out=out).start()

        am_dir = self.state / "alertmanager"
        am_dir.mkdir(exist_ok=True)
        am_config = alertmanager_config(
            self.options.alertmanager_config,
            am_dir,
            self.receiver.url,
            smtp=self.smtp.address,
            timings=self.options.alertmanager_timings,
        )
        (am_dir / "alertmanager.yml").write_text(yaml.safe_dump(am_config, sort_keys=False))
        binary = alertmanager_binary()
        if binary is None:
            raise RuntimeError("prometheus-alertmanager is not installed (scripts/install-deps.sh installs it)")
        self._run(
            "alertmanager",
            [
                binary,
                f"--config.file={am_dir / 'alertmanager.yml'}",
                f"--storage.path={am_dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{ports['alertmanager']}",
                f"--web.external-url={self.url('alertmanager')}",
                "--cluster.listen-address=",
            ],
            "alertmanager",
            "/-/ready",
        )

        self._start_blackbox()

        token_file = self.state / "exporter_token"
        if not token_file.exists():
            token_file.write_text(secrets.token_urlsafe(24) + "\n")
            token_file.chmod(0o600)
        self._run(
            "exporter",
            [
                str(BIN / "voice-exporter"),
                "--listen-address",
                "127.0.0.1",
                "--port",
                str(ports["exporter"]),
                "--token-file",
                str(token_file),
            ],
            "exporter",
            "/ready",
        )

        prom_dir = self.state / "prometheus"
        prom_dir.mkdir(exist_ok=True)
        prom_config = prometheus_config(
            self.options.prometheus_config, ports, self.options.engine, self.options.interval
        )
        (prom_dir / "prometheus.yml").write_text(yaml.safe_dump(prom_config, sort_keys=False))
        self._run(
            "prometheus",
            [
                "prometheus",
                f"--config.file={prom_dir / 'prometheus.yml'}",
                f"--storage.tsdb.path={prom_dir / 'data'}",
                "--storage.tsdb.retention.time=30d",
                f"--web.listen-address=127.0.0.1:{ports['prometheus']}",
                "--web.enable-lifecycle",
                f"--web.external-url={self.url('prometheus')}",
            ],
            "prometheus",
            "/-/ready",
        )

        self._run(
            "scorer",
            [
                str(BIN / "voice-scorer"),
                "--prometheus-url",
                self.url("prometheus"),
                "--listen-address",
                "127.0.0.1",
                "--port",
                str(ports["scorer"]),
                "--interval",
                str(self.options.scorer_interval),
            ],
            "scorer",
            "/health",
        )

        self._start_api()

        if self.options.with_grafana:
            self._start_grafana()

        from voice_monitoring.exporter.simulator import Simulator

        self.simulator = Simulator(
            self.url("exporter"), seed=self.options.seed, speed=self.options.speed, token=token_file.read_text().strip()
        )
        self._simulator_thread = threading.Thread(
            target=self.simulator.run, args=(0, self.options.calls), name="simulator", daemon=True
        )
        self._simulator_thread.start()

    def api_tokens(self) -> dict[str, str]:
        """The read API's tokens, by tenant (``*`` the admin's), kept in the state directory across runs."""
        tokens_file = self.state / "api_tokens"
        if not tokens_file.exists():
            from voice_monitoring.exporter.simulator.profiles import TENANTS

            lines = [f"{tenant} {secrets.token_urlsafe(24)}" for tenant in ("*", *TENANTS)]
            tokens_file.write_text("\n".join(lines) + "\n")
            tokens_file.chmod(0o600)
        return dict(line.split(" ", 1) for line in tokens_file.read_text().splitlines() if line)

    def _start_api(self) -> None:
        self.api_tokens()
        self._run(
            "api",
            [
                str(BIN / "voice-api"),
                "--prometheus-url",
                self.url("prometheus"),
                "--listen-address",
                "127.0.0.1",
                "--port",
                str(self.options.ports["api"]),
                "--tokens-file",
                str(self.state / "api_tokens"),
            ],
            "api",
            "/health",
        )

    def _start_blackbox(self) -> None:
        binary = blackbox_binary()
        if binary is None:
            raise RuntimeError("prometheus-blackbox-exporter is not installed (scripts/install-deps.sh installs it)")
        source = self.options.blackbox_config
        secrets_dir = source.parent / "secrets"
        if not secrets_dir.is_dir():
            secrets_dir = source.parent / "secrets.example"
        bb_dir = self.state / "blackbox"
        bb_dir.mkdir(exist_ok=True)
        (bb_dir / "blackbox.yml").write_text(yaml.safe_dump(blackbox_config(source, secrets_dir), sort_keys=False))
        self._run(
            "blackbox",
            [
                binary,
                f"--config.file={bb_dir / 'blackbox.yml'}",
                f"--web.listen-address=127.0.0.1:{self.options.ports['blackbox']}",
            ],
            "blackbox",
            "/-/healthy",
        )

    def _start_grafana(self) -> None:
        binary = grafana_binary()
        if binary is None:
            self.grafana_missing_reason = "no grafana or grafana-server binary on the PATH"
            return
        grafana_dir = self.state / "grafana"
        grafana_dir.mkdir(exist_ok=True)
        grafana_provisioning(ROOT / "grafana" / "provisioning", grafana_dir / "provisioning", self.options.ports)
        password_file = grafana_dir / "admin_password"
        if not password_file.exists():
            password_file.write_text(secrets.token_urlsafe(12) + "\n")
            password_file.chmod(0o600)
        self.grafana_password = password_file.read_text().strip()
        argv = [binary, "server"] if Path(binary).name == "grafana" else [binary]
        home = next(
            (
                p
                for p in (Path("/usr/share/grafana"), Path(binary).resolve().parent.parent)
                if (p / "conf" / "defaults.ini").exists()
            ),
            None,
        )
        if home is not None:
            argv.append(f"--homepath={home}")
        env = {
            "GF_PATHS_DATA": str(grafana_dir / "data"),
            "GF_PATHS_LOGS": str(grafana_dir / "logs"),
            "GF_PATHS_PLUGINS": str(grafana_dir / "plugins"),
            "GF_PATHS_PROVISIONING": str(grafana_dir / "provisioning"),
            "GF_SERVER_HTTP_ADDR": "127.0.0.1",
            "GF_SERVER_HTTP_PORT": str(self.options.ports["grafana"]),
            "GF_SECURITY_ADMIN_PASSWORD": self.grafana_password,
            "GF_AUTH_ANONYMOUS_ENABLED": "false",
            "GF_USERS_ALLOW_SIGN_UP": "false",
            "GF_ANALYTICS_REPORTING_ENABLED": "false",
        }
        self._run("grafana", argv, "grafana", "/api/health", env=env, timeout=120)

    def _run(
        self, name: str, argv: list[str], service: str, ready_path: str, env: dict | None = None, timeout: float = 60.0
    ) -> Service:
        child = Service(name, argv, self.url(service), ready_path, self.logs / f"{name}.log", env, own_session=True)
        self.children.append(child)
        return child.start(timeout)

    def set_fault(self, scenario: str | None) -> None:
        self.simulator.set_fault(scenario)

    def failed_children(self) -> list[Service]:
        return [child for child in self.children if not child.running()]

    def stop(self) -> None:
        if self.simulator is not None:
            self.simulator.stop()
        if self._simulator_thread is not None:
            self._simulator_thread.join(15)
        for child in reversed(self.children):
            child.stop()
        if self.receiver is not None:
            self.receiver.stop()
            self.receiver = None
        if self.smtp is not None:
            self.smtp.stop()
            self.smtp = None
