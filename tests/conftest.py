import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ALERTMANAGER_BINARY, start_exporter  # noqa: E402

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
