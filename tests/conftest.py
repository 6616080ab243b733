import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

# Test modules import the shared harness as `harness` and the PromQL name reader as `promql_names`.  They are
# registered by hand rather than by putting tests/ on sys.path, where test folders would shadow the project's
# packages of the same name.


def _register(name: str):
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


harness = _register("harness")
_register("promql_names")

ALERTMANAGER_BINARY = harness.ALERTMANAGER_BINARY
start_exporter = harness.start_exporter

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"


def pytest_collection_modifyitems(config, items):
    missing = [name for name in ("prometheus", "promtool", "amtool") if shutil.which(name) is None]
    if ALERTMANAGER_BINARY is None:
        missing.append("prometheus-alertmanager")
    if missing:
        raise pytest.UsageError(f"missing binaries {', '.join(missing)}: run scripts/install-deps.sh "
                                "(make test does it for you)")


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
