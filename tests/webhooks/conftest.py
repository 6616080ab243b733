import pytest

from tests.exporter.clocked_exporter import Clock, make


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def exporter(clock):
    return make(clock)
