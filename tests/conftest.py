import importlib.util
import os
import shutil
from pathlib import Path

import pytest

from tests.harness import ALERTMANAGER_BINARY, start_exporter

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
BINARIES = ("prometheus", "promtool", "amtool", "victoria-metrics", "prometheus-blackbox-exporter", "openssl")
KUBERNETES_VALIDATORS = Path(__file__).resolve().parent / "kubernetes" / "node_modules" / "@kubernetes-models"
FRAMEWORKS = {"livekit": "livekit.agents", "pipecat": "pipecat"}  # the extra's name -> the module it installs


def missing_binaries() -> list[str]:
    missing = [name for name in BINARIES if shutil.which(name) is None]
    if ALERTMANAGER_BINARY is None:
        missing.append("prometheus-alertmanager")
    return missing


def missing_kubernetes_tools() -> list[str]:
    missing = [name for name in ("kubectl", "node") if shutil.which(name) is None]
    if not KUBERNETES_VALIDATORS.is_dir():
        missing.append("the npm package in tests/kubernetes")
    return missing


def missing_frameworks() -> list[str]:
    missing = []
    for extra, module in FRAMEWORKS.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # its parent package is missing too
            found = False
        if not found:
            missing.append(extra)
    return missing


def pytest_collection_modifyitems(config, items):
    """Tests marked ``binaries`` run the real Prometheus and Alertmanager binaries; tests marked ``kubernetes``
    run kubectl and the npm validators; tests marked ``frameworks("pipecat")`` import a voice framework, an
    optional extra (``make frameworks`` installs them).

    Where they are missing such tests skip with the reason, except in CI, where a skip would hide a broken
    install: there the run stops at once.
    """
    needs = [
        ("binaries", missing_binaries(), "scripts/install-deps.sh"),
        ("kubernetes", missing_kubernetes_tools(), "scripts/install-validators.sh"),
        ("frameworks", missing_frameworks(), "make frameworks"),
    ]
    for marker, missing, installer in needs:
        needing = [item for item in items if _needs(item, marker, missing)]
        if not missing or not needing:
            continue
        reason = f"missing {', '.join(missing)}: run {installer}" + (
            "" if marker == "frameworks" else " (make test does it for you)"
        )
        if os.environ.get("CI"):
            raise pytest.UsageError(f"CI: {reason}")
        for item in needing:
            item.add_marker(pytest.mark.skip(reason=reason))


def _needs(item, marker: str, missing: list[str]) -> bool:
    """Whether ``item`` needs something of ``missing``: a frameworks marker names the frameworks it needs."""
    found = item.get_closest_marker(marker)
    if found is None:
        return False
    return marker != "frameworks" or any(name in missing for name in found.args)


@pytest.fixture
def exporter(tmp_path):
    """A real exporter on a free loopback port, stopped after the test."""
    with start_exporter(tmp_path) as service:
        yield service


@pytest.fixture
def shared_dir():
    """../shared, present for development and CI only."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present (it exists for development and CI only)")
    return SHARED
