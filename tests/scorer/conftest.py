import pytest

from tests.scorer.scoring_stack import start_stack, stop_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """A real exporter, Prometheus and scorer shared by a module's tests."""
    s = start_stack(tmp_path_factory.mktemp("scoring"))
    try:
        yield s
    finally:
        stop_stack(s)
