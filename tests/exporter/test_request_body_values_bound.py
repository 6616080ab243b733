"""The JSON value bound of a request body refuses exactly the bodies whose count of values could exceed it, though
the count is skipped for a body too short to exceed it."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voice_monitoring.exporter.request_body import VALUES_PER_EVENT, BadRequest, parse_body

MAX_EVENTS = 2
BOUND = VALUES_PER_EVENT * MAX_EVENTS


def refused_by_the_bound(body: bytes) -> bool:
    try:
        parse_body(body, "application/json", MAX_EVENTS)
    except BadRequest as refused:
        return refused.status == 413 and "JSON values per event" in str(refused)
    return False


def values_bound(body: bytes) -> int:
    return body.count(b",") + body.count(b"[") + body.count(b"{") + 1


@pytest.mark.parametrize("length", range(BOUND - 2, BOUND + 3))
@pytest.mark.parametrize("filler", [b",", b"[", b"{", b"1"])
def test_bodies_around_the_bound_are_refused_exactly_when_over_it(filler, length):
    body = filler * length
    assert refused_by_the_bound(body) == (values_bound(body) > BOUND)


@given(st.lists(st.sampled_from([b",", b"[", b"{", b"1", b" ", b"}", b"]"]), min_size=BOUND - 4, max_size=BOUND + 4))
def test_any_body_is_refused_by_the_bound_exactly_when_over_it(pieces):
    body = b"".join(pieces)
    assert refused_by_the_bound(body) == (values_bound(body) > BOUND)
