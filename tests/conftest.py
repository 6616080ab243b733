import os
import shutil
from pathlib import Path

import pytest

from tests.harness import ALERTMANAGER_BINARY, start_exporter

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
BINARIES = ("prometheus", "promtool", "amtool", "victoria-metrics")


def missing_binaries() -> list[str]:
    missing = [name for name in BINARIES if shutil.which(name) is None]
    if ALERTMANAGER_BINARY is None:
        missing.append("prometheus-alertmanager")
    return missing


def pytest_collection_modifyitems(config, items):
    """Tests marked ``binaries`` run the real Prometheus and Alertmanager binaries.

    Where they are missing such tests skip with the reason, except in CI, where a skip would hide a broken
    install: there the run stops at once.
    """
    missing = missing_binaries()
    if not missing:
        return
    needing = [item for item in items if item.get_closest_marker("binaries")]
    if not needing:
        return
    reason = f"missing binaries {', '.join(missing)}: run scripts/install-deps.sh (make test does it for you)"
    if os.environ.get("CI"):
        raise pytest.UsageError(f"CI: {reason}")
    for item in needing:
        item.add_marker(pytest.mark.skip(reason=reason))


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
