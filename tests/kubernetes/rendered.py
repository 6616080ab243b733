"""The Kubernetes package as kubectl renders it, and the validators run over the rendered objects."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "deploy" / "kubernetes"
CRD_VALIDATOR = Path(__file__).resolve().parent / "crd_validate.mjs"
OPERATOR_GROUP = "monitoring.coreos.com/"


def kustomize(directory: Path) -> list[dict]:
    """The objects ``kubectl kustomize`` renders from ``directory``."""
    result = subprocess.run(["kubectl", "kustomize", str(directory)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [obj for obj in yaml.safe_load_all(result.stdout) if obj]


def operator_schema_errors(objects: list[dict]) -> dict[str, str]:
    """{kind/name: error} for every object @kubernetes-models/prometheus-operator rejects."""
    result = subprocess.run(
        ["node", str(CRD_VALIDATOR)], input=json.dumps(objects), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return {f"{r['kind']}/{r['name']}": r["error"] for r in json.loads(result.stdout) if r["error"]}


def by_kind(objects: list[dict], kind: str) -> dict[str, dict]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}
