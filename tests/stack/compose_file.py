"""Reading the compose files the way Compose does (variables interpolated from an env file), and running their
services' flags outside a container (container paths mapped to host copies)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from scripts.native_stack import inline_webhook_url_files

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.monitoring.yml"
HA_COMPOSE_FILE = ROOT / "docker-compose.ha.yml"
ENV_EXAMPLE = ROOT / ".env.example"

_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


class MissingVariable(ValueError):
    pass


def read_env_file(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"{path}: not KEY=VALUE: {line!r}")
        env[key.strip()] = value.strip()
    return env


def variables(text: str) -> set[str]:
    """Names of the variables a compose file refers to."""
    return {m.group(1) or m.group(4) for m in _VARIABLE.finditer(text) if m.group(0) != "$$"}


def interpolate(text: str, env: dict[str, str]) -> str:
    def substitute(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) or m.group(4)
        operator, argument = m.group(2), m.group(3)
        value = env.get(name)
        unset_or_empty = value is None or (value == "" and operator is not None and operator.startswith(":"))
        if operator in (":-", "-") and (value is None if operator == "-" else unset_or_empty):
            return argument
        if operator in (":?", "?") and (value is None if operator == "?" else unset_or_empty):
            raise MissingVariable(f"{name}: {argument}")
        return value or ""

    return _VARIABLE.sub(substitute, text)


def load(env: dict[str, str], path: Path = COMPOSE_FILE) -> dict:
    return yaml.safe_load(interpolate(path.read_text(), env))


def bind_mounts(service: dict) -> list[tuple[Path, str]]:
    """(host path, container path) of a service's bind mounts (short syntax with a relative source)."""
    mounts = []
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith((".", "/")):
            mounts.append(((ROOT / source).resolve(), target))
    return mounts


def named_volumes(service: dict) -> list[tuple[str, str]]:
    volumes = []
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if not source.startswith((".", "/")):
            volumes.append((source, target))
    return volumes


def translate(command: list[str], service: dict, tmp_path: Path, listen_flag: str) -> list[str]:
    """The service's flags with container paths mapped to host copies and named volumes to empty folders."""
    paths: dict[str, Path] = {}
    for host, target in bind_mounts(service):
        copy = tmp_path / "mounts" / target.strip("/").replace("/", "_")
        shutil.copytree(host, copy) if host.is_dir() else shutil.copy(host, copy)
        paths[target] = copy
    for source, target in named_volumes(service):
        paths[target] = tmp_path / "volumes" / source
        paths[target].mkdir(parents=True)
    translated = []
    for flag in command:
        name, sep, value = flag.partition("=")
        for target in sorted(paths, key=len, reverse=True):
            if value == target or value.startswith(target + "/"):
                value = str(paths[target]) + value[len(target) :]
                break
        translated.append(name + sep + value)
    return translated + [listen_flag]


def compose_schema_errors(path: Path) -> str:
    """What check-jsonschema finds wrong with a compose file against the Compose specification; empty if nothing."""
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(path)], capture_output=True, text=True
    )
    return "" if result.returncode == 0 else result.stdout + result.stderr


def provide_secret_examples(config_dir: Path) -> None:
    """Alertmanager's secret files, from the committed examples, in a copied configuration directory, and its
    webhook URLs read from them: the compose files pin 0.27, which reads webhook URLs with url_file; Debian's
    0.25 needs them inline."""
    if not (config_dir / "secrets").exists():
        shutil.copytree(ROOT / "alertmanager" / "secrets.example", config_dir / "secrets")
    config_file = config_dir / "alertmanager.yml"
    config = yaml.safe_load(config_file.read_text())
    for receiver in config["receivers"]:
        for webhook in receiver.get("webhook_configs", []):
            if "url_file" in webhook:
                webhook["url_file"] = webhook["url_file"].replace("/etc/alertmanager", str(config_dir))
    config_file.write_text(yaml.safe_dump(inline_webhook_url_files(config)))
