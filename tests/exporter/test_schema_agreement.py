"""The published JSON Schema and the exporter's validator agree on every event, generated or hand-picked."""

import json
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voice_monitoring.exporter import events

SCHEMA = Path(__file__).resolve().parents[2] / "exporter" / "schema" / "events-v1.schema.json"
VALIDATOR = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
NOW, MAX_AGE, MAX_FUTURE = 1_800_000_000.0, 3600.0, 300.0


def accepted_by_exporter(event) -> bool:
    try:
        events.validate(event, NOW, MAX_AGE, MAX_FUTURE)
    except events.InvalidEvent:
        return False
    return True


def values(field: events.Field):
    """Values for a field: valid ones, boundary ones and wrong ones."""
    wrong = st.one_of(
        st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=3), st.lists(st.integers(), max_size=1)
    )
    if field.kind in ("number", "integer"):
        low = field.minimum if field.minimum is not None else -1e6
        high = field.maximum if field.maximum is not None else 1e6
        numbers = st.floats(low - 1, high + 1, allow_nan=False) | st.sampled_from([low, high, low - 1, high + 1])
        if field.kind == "integer":
            numbers = numbers | st.integers(int(low) - 1, min(int(high) + 1, 10**13)) | st.just(2.5)
        return numbers | wrong
    if field.kind == "boolean":
        return st.booleans() | wrong
    if field.kind == "enum":
        return st.sampled_from(field.choices) | st.sampled_from(["", field.choices[0].upper()]) | wrong
    return (
        st.text(min_size=1, max_size=8)
        | st.sampled_from(["", "x" * events.MAX_LABEL_LENGTH, "x" * (events.MAX_LABEL_LENGTH + 1)])
        | wrong
    )


@st.composite
def generated_events(draw):
    etype = draw(st.sampled_from(list(events.TYPES)) | st.just("no.such.type"))
    event = {"type": etype}
    ts = draw(st.floats(NOW - MAX_AGE + 1, NOW + MAX_FUTURE - 1) | st.just(-1.0) | st.just("now") | st.none())
    if ts is not None:
        event["ts"] = ts
    for key, field in events.ENVELOPE.items():
        if key not in ("type", "ts") and draw(st.integers(0, 3)) == 0:
            event[key] = draw(values(field))
    if draw(st.integers(0, 9)) == 0:
        event["extra"] = 1
    spec = events.TYPES.get(etype, {})
    shape = draw(st.sampled_from(["absent", "object", "object", "object", "null", "list"]))
    if shape == "object":
        keys = draw(st.lists(st.sampled_from(sorted(spec) or ["x"]), unique=True, max_size=len(spec)))
        attrs = {k: draw(values(spec[k])) if k in spec else 1 for k in keys}
        if draw(st.integers(0, 9)) == 0:
            attrs["no_such_attribute"] = 1
        event["attrs"] = attrs
    elif shape != "absent":
        event["attrs"] = None if shape == "null" else []
    return event


def valid_attrs(spec: dict[str, events.Field]) -> dict:
    """Valid values, for ``st.fixed_dictionaries`` below."""
    out = {}
    for key, field in spec.items():
        if field.kind == "enum":
            out[key] = st.sampled_from(field.choices)
        elif field.kind == "boolean":
            out[key] = st.booleans()
        elif field.kind == "string":
            out[key] = st.text(min_size=1, max_size=8)
        else:
            out[key] = st.integers(int(field.minimum or 0), int(field.maximum or 10))
    return out


@st.composite
def mostly_valid_events(draw):
    """Events with valid values throughout, so the rules between attributes decide."""
    etype = draw(st.sampled_from(list(events.TYPES)))
    spec = events.TYPES[etype]
    strategies = valid_attrs(spec)
    required = {k: s for k, s in strategies.items() if spec[k].required}
    optional = {k: s for k, s in strategies.items() if not spec[k].required}
    attrs = draw(st.fixed_dictionaries(required, optional=optional))
    event = {"type": etype, "ts": NOW, "call_id": "c-1", "attrs": attrs}
    if not attrs and draw(st.booleans()):
        del event["attrs"]
    return event


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated_events())
def test_schema_and_validator_agree_on_generated_events(event):
    assert VALIDATOR.is_valid(event) == accepted_by_exporter(event), event


@settings(max_examples=300, deadline=None)
@given(mostly_valid_events())
def test_schema_and_validator_agree_on_how_attributes_go_together(event):
    assert VALIDATOR.is_valid(event) == accepted_by_exporter(event), event


@pytest.mark.parametrize(
    "event",
    [
        {"type": "health", "ts": NOW, "attrs": {"memory_ratio": 0.5}},
        {"type": "health", "ts": NOW, "attrs": {"up": True}},
        {"type": "health", "ts": NOW, "attrs": {"breaker_state": "open"}},
        {"type": "health", "ts": NOW},
        {"type": "health", "ts": NOW, "attrs": {}},
        {"type": "turn", "ts": NOW, "call_id": "c", "attrs": None},
    ],
    ids=[
        "worker figures without a worker",
        "up without a service",
        "state without a breaker",
        "no attrs",
        "empty attrs",
        "attrs null",
    ],  # fmt: skip
)
def test_the_schema_refuses_what_the_exporter_refuses(event):
    assert not accepted_by_exporter(event)
    assert not VALIDATOR.is_valid(event)
