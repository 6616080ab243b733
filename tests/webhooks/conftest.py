import pytest

from tests.webhooks.metrics import Clock, make_exporter


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def exporter(clock):
    return make_exporter(clock)
